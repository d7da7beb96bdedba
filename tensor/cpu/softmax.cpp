// softmax.cpp (cpu): softmax and log-softmax along one dim of a contiguous tensor viewed as
// (outer, n, inner); inner == 1 (the last dim) is the common, fastest case. Rows in parallel.
#include <cmath>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace mdp {
using namespace cpu;
namespace {
void split3(const Shape& s, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  inner = 1;
  n = s[size_t(dim)];
  for (int64_t i = 0; i < dim; ++i) outer *= s[size_t(i)];
  for (size_t i = size_t(dim) + 1; i < s.size(); ++i) inner *= s[i];
}
}  // namespace

void CpuBackend::softmax(const Tensor& y, const Tensor& x, int64_t dim, bool log) {
  int64_t outer, n, inner;
  split3(x.shape(), dim, outer, n, inner);
  dispatch_floating(x.dtype(), "softmax", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
#pragma omp parallel for collapse(2)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* p = X + o * n * inner + i;
        T* q = Y + o * n * inner + i;
        A m = -INFINITY;
        for (int64_t j = 0; j < n; ++j) m = std::max(m, cast<A>(p[j * inner]));
        A s = 0;
        for (int64_t j = 0; j < n; ++j) s += std::exp(cast<A>(p[j * inner]) - m);
        A ls = std::log(s);
        for (int64_t j = 0; j < n; ++j) {
          A v = cast<A>(p[j * inner]) - m;
          q[j * inner] = cast<T>(log ? v - ls : std::exp(v) / s);
        }
      }
  });
}

void CpuBackend::softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, int64_t dim, bool log) {
  int64_t outer, n, inner;
  split3(y.shape(), dim, outer, n, inner);
  dispatch_floating(y.dtype(), "softmax_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* Y = static_cast<const T*>(y.raw_data());
    const T* DY = static_cast<const T*>(dy.raw_data());
    T* DX = static_cast<T*>(dx.raw_data());
#pragma omp parallel for collapse(2)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t b = o * n * inner + i;
        A s = 0;
        for (int64_t j = 0; j < n; ++j)
          s += log ? cast<A>(DY[b + j * inner]) : cast<A>(DY[b + j * inner]) * cast<A>(Y[b + j * inner]);
        for (int64_t j = 0; j < n; ++j) {
          A yv = cast<A>(Y[b + j * inner]), g = cast<A>(DY[b + j * inner]);
          DX[b + j * inner] = cast<T>(log ? g - std::exp(yv) * s : yv * (g - s));
        }
      }
  });
}

}  // namespace mdp
