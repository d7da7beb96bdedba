// cross_entropy.cu (cuda): softmax cross-entropy over (N, K, S) logits with ignore_index and optional
// class weights, mean over the weighted non-ignored pixels (all ignored gives 0), and its gradient.
// One thread per pixel computes what tensor/reference/cross_entropy.cpp computes for it: the label
// check, the pixel's class weight (0 when ignored) and its weighted loss w (logsumexp - logit[label]);
// the per-pixel values are then summed by this backend's reduction (double accumulation). A label out
// of range is recorded in the device's error slot; the host reads it back (one synchronisation per
// call) and throws the reference's message naming the value and its position.
#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"
#include "tensor/reference/reference_backend.h"

namespace mdp::cuda {
namespace {

// Per pixel k of N*S: its class weight, and (when loss is not null) its weighted loss.
template <class T>
__global__ void pixel_kernel(int64_t N, int64_t K, int64_t S, const T* logits, const int64_t* target,
                             const T* weight, int64_t ignore, acc_t<T>* pixel_weight, acc_t<T>* loss,
                             unsigned long long* error) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, N * S) {
    int64_t t = target[k];
    A w = 0, l = 0;
    if (t != ignore && (t < 0 || t >= K)) {
      report_error(error, k);
    } else if (t != ignore) {
      w = weight ? cast<A>(weight[t]) : A(1);
      if (loss) {
        const T* p = logits + (k / S) * K * S + k % S;  // logit j of this pixel is p[j * S]
        A m = -INFINITY, z = 0;
        for (int64_t j = 0; j < K; ++j) {
          A v = cast<A>(p[j * S]);
          m = m < v ? v : m;
        }
        for (int64_t j = 0; j < K; ++j) z += exp(cast<A>(p[j * S]) - m);
        l = w * (m + log(z) - cast<A>(p[t * S]));
      }
    }
    pixel_weight[k] = w;
    if (loss) loss[k] = l;
  }
}

template <class T>
__global__ void mean_kernel(const acc_t<T>* total, const acc_t<T>* wsum, T* out) {
  if (blockIdx.x == 0 && threadIdx.x == 0) *out = cast<T>(*wsum > 0 ? *total / *wsum : acc_t<T>(0));
}

// dlogits = dloss * w / wsum * (softmax - onehot(label)) per pixel; zero for ignored pixels.
template <class T>
__global__ void backward_kernel(int64_t N, int64_t K, int64_t S, const T* logits, const int64_t* target,
                                const T* weight, int64_t ignore, double dloss, const acc_t<T>* wsum, T* grad) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, N * S) {
    int64_t t = target[k];
    int64_t base = (k / S) * K * S + k % S;
    const T* p = logits + base;
    T* g = grad + base;
    if (t == ignore) {
      for (int64_t j = 0; j < K; ++j) g[j * S] = cast<T>(A(0));
      continue;
    }
    A m = -INFINITY, z = 0;
    for (int64_t j = 0; j < K; ++j) {
      A v = cast<A>(p[j * S]);
      m = m < v ? v : m;
    }
    for (int64_t j = 0; j < K; ++j) z += exp(cast<A>(p[j * S]) - m);
    A scale = A(dloss * double(weight ? cast<A>(weight[t]) : A(1)) / double(*wsum));
    for (int64_t j = 0; j < K; ++j) g[j * S] = cast<T>(scale * (exp(cast<A>(p[j * S]) - m) / z - (j == t ? A(1) : A(0))));
  }
}

// Runs the pixel kernel and throws the reference's error for the first label out of range. Returns the
// summed weight as a 0-d tensor on the device; *total gets the summed loss when wanted.
Tensor pixels(const char* op, const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore,
              Tensor* total) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  DType ad = acc_dtype(logits.dtype());
  Tensor pw = ops::empty({N * S}, ad, logits.device());
  Tensor pl = total ? ops::empty({N * S}, ad, logits.device()) : Tensor();
  Context& c = context(logits);
  unsigned long long* error = c.reset_error();
  dispatch_floating(logits.dtype(), op, [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    launch(c, N * S, pixel_kernel<T>, N, K, S, static_cast<const T*>(logits.raw_data()),
           static_cast<const int64_t*>(target.raw_data()),
           weight.defined() ? static_cast<const T*>(weight.raw_data()) : nullptr, ignore,
           static_cast<A*>(pw.raw_data()), total ? static_cast<A*>(pl.raw_data()) : nullptr, error);
  });
  int64_t bad = c.first_error();
  if (bad >= 0) {
    int64_t label = 0;
    c.to_host(&label, static_cast<const int64_t*>(target.raw_data()) + bad, sizeof label);
    check_label(op, label, K, ignore, bad);  // throws
  }
  if (total) *total = ops::sum(pl);
  return ops::sum(pw);
}

}  // namespace

// logits (N, K, S), target (N, S) and weight (K) contiguous (ops.cpp).
void CudaBackend::cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, const Tensor& weight,
                                int64_t ignore_index) {
  Tensor total;
  Tensor wsum = pixels("cross_entropy", logits, target, weight, ignore_index, &total);
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    launch(context(logits), 1, mean_kernel<T>, static_cast<const A*>(total.raw_data()),
           static_cast<const A*>(wsum.raw_data()), static_cast<T*>(loss.raw_data()));
  });
}

void CudaBackend::cross_entropy_backward(const Tensor& dlogits, double dloss, const Tensor& logits,
                                         const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  int64_t N = logits.size(0), K = logits.size(1), S = logits.size(2);
  Tensor wsum = pixels("cross_entropy_backward", logits, target, weight, ignore_index, nullptr);
  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    launch(context(logits), N * S, backward_kernel<T>, N, K, S, static_cast<const T*>(logits.raw_data()),
           static_cast<const int64_t*>(target.raw_data()),
           weight.defined() ? static_cast<const T*>(weight.raw_data()) : nullptr, ignore_index, dloss,
           static_cast<const A*>(wsum.raw_data()), static_cast<T*>(dlogits.raw_data()));
  });
}

}  // namespace mdp::cuda
