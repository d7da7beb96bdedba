// cross_entropy.cpp (reference): softmax cross-entropy over (N, K, S) logits with ignore_index and
// optional class weights, mean over the (weighted) non-ignored pixels; all ignored gives 0.
#include <cmath>

#include "tensor/error.h"
#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

void check_label(const char* op, int64_t label, int64_t K, int64_t ignore_index, int64_t at) {
  MDP_CHECK(label == ignore_index || (label >= 0 && label < K),
            "{}: target value {} at flat index {} is out of range for {} classes (ignore_index {})", op, label, at, K,
            ignore_index);
}

namespace {
// Calls f(n, s, label, weight, logsumexp) for every non-ignored pixel; returns the summed weight.
template <class F>
double for_each_pixel(const std::vector<double>& vl, const std::vector<double>& vt, const std::vector<double>& vw,
                      int64_t N, int64_t K, int64_t S, int64_t ignore, const char* op, F&& f) {
  double wsum = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      int64_t t = int64_t(vt[size_t(n * S + s)]);
      check_label(op, t, K, ignore, n * S + s);
      if (t == ignore) continue;
      double m = -INFINITY, z = 0;
      for (int64_t k = 0; k < K; ++k) m = std::max(m, vl[size_t((n * K + k) * S + s)]);
      for (int64_t k = 0; k < K; ++k) z += std::exp(vl[size_t((n * K + k) * S + s)] - m);
      double w = vw.empty() ? 1.0 : vw[size_t(t)];
      wsum += w;
      f(n, s, t, w, m + std::log(z));
    }
  return wsum;
}
}  // namespace

void ReferenceBackend::cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target,
                                     const Tensor& weight, int64_t ignore) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  auto vl = read_strided(logits), vt = read_strided(target);
  std::vector<double> vw = weight.defined() ? read_strided(weight) : std::vector<double>();
  double total = 0;
  double wsum = for_each_pixel(vl, vt, vw, N, K, S, ignore, "cross_entropy",
                               [&](int64_t n, int64_t s, int64_t t, double w, double lse) {
                                 total += w * (lse - vl[size_t((n * K + t) * S + s)]);
                               });
  write_strided(loss, {wsum > 0 ? total / wsum : 0.0});
}

void ReferenceBackend::cross_entropy_backward(const Tensor& dlogits, double dloss, const Tensor& logits,
                                              const Tensor& target, const Tensor& weight, int64_t ignore) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  auto vl = read_strided(logits), vt = read_strided(target);
  std::vector<double> vw = weight.defined() ? read_strided(weight) : std::vector<double>();
  std::vector<double> g(vl.size(), 0.0);
  struct Px { int64_t n, s, t; double w, lse; };
  std::vector<Px> px;
  double wsum = for_each_pixel(vl, vt, vw, N, K, S, ignore, "cross_entropy_backward",
                               [&](int64_t n, int64_t s, int64_t t, double w, double lse) { px.push_back({n, s, t, w, lse}); });
  for (const Px& p : px)
    for (int64_t k = 0; k < K; ++k) {
      size_t i = size_t((p.n * K + k) * S + p.s);
      g[i] = dloss * p.w / wsum * (std::exp(vl[i] - p.lse) - (k == p.t ? 1.0 : 0.0));
    }
  write_strided(dlogits, g);
}

}  // namespace mdp
