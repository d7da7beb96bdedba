// cross_entropy.cpp (cpu): softmax cross-entropy over (N, K, S) logits with ignore_index and class
// weights. Forward: per pixel log-sum-exp over K (strided by S), sums in double. Backward fills the
// whole gradient, softmax minus one-hot scaled by weight / total weight, zero for ignored pixels.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/reference/reference_backend.h"

namespace mdp {
using namespace cpu;
namespace {
double class_weight(const Tensor& w, int64_t t) {
  if (!w.defined()) return 1.0;
  double v = 0;
  dispatch_floating(w.dtype(), "cross_entropy", [&](auto z) { v = cast<double>(static_cast<const decltype(z)*>(w.raw_data())[t]); });
  return v;
}

// Checks every label once and returns the summed weight of the non-ignored pixels.
double check_and_weigh(const char* op, const Tensor& target, const Tensor& weight, int64_t K, int64_t ignore) {
  const int64_t* t = static_cast<const int64_t*>(target.raw_data());
  double wsum = 0;
  for (int64_t i = 0; i < target.numel(); ++i) {
    check_label(op, t[i], K, ignore, i);
    if (t[i] != ignore) wsum += class_weight(weight, t[i]);
  }
  return wsum;
}
}  // namespace

void CpuBackend::cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, const Tensor& weight,
                               int64_t ignore) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  double wsum = check_and_weigh("cross_entropy", target, weight, K, ignore);
  const int64_t* tg = static_cast<const int64_t*>(target.raw_data());
  double total = 0;
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* L = static_cast<const T*>(logits.raw_data());
#pragma omp parallel for collapse(2) reduction(+ : total)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        int64_t t = tg[n * S + s];
        if (t == ignore) continue;
        const T* p = L + n * K * S + s;
        A m = -INFINITY;
        for (int64_t k = 0; k < K; ++k) m = std::max(m, cast<A>(p[k * S]));
        A sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(cast<A>(p[k * S]) - m);
        total += class_weight(weight, t) * (double(m) + std::log(double(sum)) - cast<double>(p[t * S]));
      }
  });
  dispatch_floating(loss.dtype(), "cross_entropy", [&](auto z) {
    *static_cast<decltype(z)*>(loss.raw_data()) = cast<decltype(z)>(wsum > 0 ? total / wsum : 0.0);
  });
}

void CpuBackend::cross_entropy_backward(const Tensor& dlogits, double dloss, const Tensor& logits,
                                        const Tensor& target, const Tensor& weight, int64_t ignore) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  double wsum = check_and_weigh("cross_entropy_backward", target, weight, K, ignore);
  const int64_t* tg = static_cast<const int64_t*>(target.raw_data());
  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* L = static_cast<const T*>(logits.raw_data());
    T* G = static_cast<T*>(dlogits.raw_data());
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        int64_t t = tg[n * S + s];
        const T* p = L + n * K * S + s;
        T* g = G + n * K * S + s;
        if (t == ignore) {
          for (int64_t k = 0; k < K; ++k) g[k * S] = cast<T>(0.0f);
          continue;
        }
        A m = -INFINITY;
        for (int64_t k = 0; k < K; ++k) m = std::max(m, cast<A>(p[k * S]));
        A sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(cast<A>(p[k * S]) - m);
        A scale = A(dloss * class_weight(weight, t) / wsum);
        for (int64_t k = 0; k < K; ++k)
          g[k * S] = cast<T>(scale * (std::exp(cast<A>(p[k * S]) - m) / sum - (k == t ? A(1) : A(0))));
      }
  });
}

}  // namespace mdp
