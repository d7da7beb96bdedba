// cross_entropy.cpp (cpu): softmax cross-entropy over (N, K, S) logits with ignore_index and class
// weights, over blocks of pixels (kBlock below). Forward: per pixel log-sum-exp over K, the loss summed in
// double. Backward fills the whole gradient, softmax minus one-hot scaled by weight / total weight, zero for
// ignored pixels.
#include <algorithm>
#include <cmath>
#include <vector>

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

// Pixels are taken kBlock at a time: each class's logits of a block are contiguous (stride 1 along S), so
// the max, the exp-sum and the gradient run along rows the compiler vectorises, instead of strided walks
// over K per pixel; per pixel the arithmetic and its order over k are the same.
constexpr int64_t kBlock = 256;

void CpuBackend::cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, const Tensor& weight,
                               int64_t ignore) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  double wsum = check_and_weigh("cross_entropy", target, weight, K, ignore);
  const int64_t* tg = static_cast<const int64_t*>(target.raw_data());
  const int64_t blocks = (S + kBlock - 1) / kBlock;
  double total = 0;
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* L = static_cast<const T*>(logits.raw_data());
#pragma omp parallel for reduction(+ : total) if (N * K * S > 32768)
    for (int64_t nb = 0; nb < N * blocks; ++nb) {
      const int64_t n = nb / blocks, s0 = (nb % blocks) * kBlock, len = std::min(kBlock, S - s0);
      const T* p = L + n * K * S + s0;  // p[k * S + i]: class k of pixel s0 + i
      const int64_t* t = tg + n * S + s0;
      A m[kBlock], sum[kBlock];
      for (int64_t i = 0; i < len; ++i) m[i] = -INFINITY;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < len; ++i) m[i] = std::max(m[i], cast<A>(p[k * S + i]));
      for (int64_t i = 0; i < len; ++i) sum[i] = 0;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t i = 0; i < len; ++i) sum[i] += std::exp(cast<A>(p[k * S + i]) - m[i]);
      for (int64_t i = 0; i < len; ++i) {
        if (t[i] == ignore) continue;
        total += class_weight(weight, t[i]) * (double(m[i]) + std::log(double(sum[i])) - cast<double>(p[t[i] * S + i]));
      }
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
  const int64_t blocks = (S + kBlock - 1) / kBlock;
  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* L = static_cast<const T*>(logits.raw_data());
    T* G = static_cast<T*>(dlogits.raw_data());
#pragma omp parallel if (N * K * S > 32768)
    {
      std::vector<A> e(size_t(K * kBlock));  // exp(logit - max) of the block, class-major
#pragma omp for
      for (int64_t nb = 0; nb < N * blocks; ++nb) {
        const int64_t n = nb / blocks, s0 = (nb % blocks) * kBlock, len = std::min(kBlock, S - s0);
        const T* p = L + n * K * S + s0;
        T* g = G + n * K * S + s0;
        const int64_t* t = tg + n * S + s0;
        A m[kBlock], sum[kBlock], scale[kBlock];
        for (int64_t i = 0; i < len; ++i) {
          m[i] = -INFINITY;
          sum[i] = 0;
          scale[i] = t[i] == ignore ? A(0) : A(dloss * class_weight(weight, t[i]) / wsum);
        }
        for (int64_t k = 0; k < K; ++k)
          for (int64_t i = 0; i < len; ++i) m[i] = std::max(m[i], cast<A>(p[k * S + i]));
        for (int64_t k = 0; k < K; ++k)
          for (int64_t i = 0; i < len; ++i) {
            A v = std::exp(cast<A>(p[k * S + i]) - m[i]);
            e[size_t(k * kBlock + i)] = v;
            sum[i] += v;
          }
        // softmax - one-hot, scaled; exactly 0 where the label is ignored (whatever the logits hold)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t i = 0; i < len; ++i)
            g[k * S + i] = t[i] == ignore ? cast<T>(0.0f)
                                          : cast<T>(scale[i] * (e[size_t(k * kBlock + i)] / sum[i] - (k == t[i] ? A(1) : A(0))));
      }
    }
  });
}

}  // namespace mdp
