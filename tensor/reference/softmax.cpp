// softmax.cpp (reference): softmax and log-softmax along one dim, max-subtracted, and their backward.
#include <cmath>

#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {
namespace {
// Views a contiguous shape as (outer, n, inner) around dim.
struct Split3 {
  int64_t outer = 1, n, inner = 1;
  Split3(const Shape& s, int64_t dim) : n(s[size_t(dim)]) {
    for (int64_t i = 0; i < dim; ++i) outer *= s[size_t(i)];
    for (size_t i = size_t(dim) + 1; i < s.size(); ++i) inner *= s[i];
  }
  size_t at(int64_t o, int64_t j, int64_t i) const { return size_t((o * n + j) * inner + i); }
};
}  // namespace

void ReferenceBackend::softmax(const Tensor& y, const Tensor& x, int64_t dim, bool log) {
  Split3 g(x.shape(), dim);
  auto vx = read_strided(x);
  std::vector<double> vy(vx.size());
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t j = 0; j < g.n; ++j) m = std::max(m, vx[g.at(o, j, i)]);
      for (int64_t j = 0; j < g.n; ++j) s += std::exp(vx[g.at(o, j, i)] - m);
      for (int64_t j = 0; j < g.n; ++j) {
        double z = vx[g.at(o, j, i)] - m;
        vy[g.at(o, j, i)] = log ? z - std::log(s) : std::exp(z) / s;
      }
    }
  write_strided(y, vy);
}

void ReferenceBackend::softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, int64_t dim, bool log) {
  Split3 g(y.shape(), dim);
  auto vy = read_strided(y), vdy = read_strided(dy);
  std::vector<double> vdx(vy.size());
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.inner; ++i) {
      double s = 0;
      for (int64_t j = 0; j < g.n; ++j) s += log ? vdy[g.at(o, j, i)] : vdy[g.at(o, j, i)] * vy[g.at(o, j, i)];
      for (int64_t j = 0; j < g.n; ++j) {
        size_t k = g.at(o, j, i);
        // softmax: dx = y (dy - sum(dy y));  log_softmax: dx = dy - exp(y) sum(dy)
        vdx[k] = log ? vdy[k] - std::exp(vy[k]) * s : vy[k] * (vdy[k] - s);
      }
    }
  write_strided(dx, vdx);
}

}  // namespace mdp
