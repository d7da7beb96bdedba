// resize.cu (cuda): bilinear resize as PyTorch's F.interpolate(mode='bilinear') for both align_corners
// settings, nearest resize as mode='nearest' (any dtype: label maps), and their backward passes. One
// thread per output pixel; source coordinates computed exactly as tensor/reference/resize.cpp does
// (bilinear in double, nearest in float); backward scatters the same taps with atomicAdd.
#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

// reference resize.cpp bilinear_source.
__device__ double bilinear_source(int64_t dst, int64_t in, int64_t out, bool align_corners) {
  if (align_corners) return out > 1 ? double(dst) * double(in - 1) / double(out - 1) : 0.0;
  double src = (double(dst) + 0.5) * double(in) / double(out) - 0.5;
  return src < 0 ? 0.0 : src;
}

// reference resize.cpp nearest_source: floor(dst * (float)(in / out)) in float, clipped.
__device__ int64_t nearest_source(int64_t dst, int64_t in, int64_t out) {
  float scale = float(in) / float(out);
  return min(int64_t(floorf(float(dst) * scale)), in - 1);
}

// The four taps of output pixel k of an (NC, Ho, Wo) block over an (NC, H, W) input: source offsets
// and weights, in the order of the reference's for_each_bilinear_tap.
struct Taps {
  int64_t src[4];
  double weight[4];
  __device__ Taps(int64_t k, int64_t H, int64_t W, int64_t Ho, int64_t Wo, bool ac) {
    int64_t p = k / (Ho * Wo), oh = (k / Wo) % Ho, ow = k % Wo;
    double sh = bilinear_source(oh, H, Ho, ac);
    int64_t h0 = int64_t(sh), h1 = h0 + (h0 < H - 1 ? 1 : 0);
    double lh = sh - double(h0);
    double sw = bilinear_source(ow, W, Wo, ac);
    int64_t w0 = int64_t(sw), w1 = w0 + (w0 < W - 1 ? 1 : 0);
    double lw = sw - double(w0);
    src[0] = (p * H + h0) * W + w0;
    src[1] = (p * H + h0) * W + w1;
    src[2] = (p * H + h1) * W + w0;
    src[3] = (p * H + h1) * W + w1;
    weight[0] = (1 - lh) * (1 - lw);
    weight[1] = (1 - lh) * lw;
    weight[2] = lh * (1 - lw);
    weight[3] = lh * lw;
  }
};

template <class T>
__global__ void bilinear_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, bool ac, const T* x, T* y) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Taps t(k, H, W, Ho, Wo, ac);
    A s = 0;
    for (int j = 0; j < 4; ++j) s += A(t.weight[j]) * cast<A>(x[t.src[j]]);
    y[k] = cast<T>(s);
  }
}

template <class T>
__global__ void bilinear_backward_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, bool ac,
                                         const T* dy, acc_t<T>* dx) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Taps t(k, H, W, Ho, Wo, ac);
    A g = cast<A>(dy[k]);
    for (int j = 0; j < 4; ++j) atomicAdd(&dx[t.src[j]], A(t.weight[j]) * g);
  }
}

// Offset of the nearest source of output pixel k.
__device__ int64_t nearest_at(int64_t k, int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  int64_t p = k / (Ho * Wo), oh = (k / Wo) % Ho, ow = k % Wo;
  return (p * H + nearest_source(oh, H, Ho)) * W + nearest_source(ow, W, Wo);
}

template <class U>
__global__ void nearest_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const U* x, U* y) {
  MDP_CUDA_LOOP(k, n) y[k] = x[nearest_at(k, H, W, Ho, Wo)];
}

template <class T>
__global__ void nearest_backward_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy,
                                        acc_t<T>* dx) {
  MDP_CUDA_LOOP(k, n) atomicAdd(&dx[nearest_at(k, H, W, Ho, Wo)], cast<acc_t<T>>(dy[k]));
}

}  // namespace

// All tensors here are contiguous (ops.cpp); gradients dx arrive zero-filled.
void CudaBackend::resize_bilinear(const Tensor& y, const Tensor& x, bool align_corners) {
  dispatch_floating(x.dtype(), "resize_bilinear", [&](auto z) {
    using T = decltype(z);
    launch(context(x), y.numel(), bilinear_kernel<T>, y.numel(), x.size(2), x.size(3), y.size(2), y.size(3),
           align_corners, static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()));
  });
}

void CudaBackend::resize_bilinear_backward(const Tensor& dx, const Tensor& dy, bool align_corners) {
  Tensor acc = accumulator_for(dx);
  dispatch_floating(dy.dtype(), "resize_bilinear_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(dy), dy.numel(), bilinear_backward_kernel<T>, dy.numel(), dx.size(2), dx.size(3), dy.size(2),
           dy.size(3), align_corners, static_cast<const T*>(dy.raw_data()), static_cast<acc_t<T>*>(acc.raw_data()));
  });
  finish_accumulation(dx, acc);
}

void CudaBackend::resize_nearest(const Tensor& y, const Tensor& x) {
  dispatch_bytes(x.dtype(), [&](auto z) {
    using U = decltype(z);
    launch(context(x), y.numel(), nearest_kernel<U>, y.numel(), x.size(2), x.size(3), y.size(2), y.size(3),
           static_cast<const U*>(x.raw_data()), static_cast<U*>(y.raw_data()));
  });
}

void CudaBackend::resize_nearest_backward(const Tensor& dx, const Tensor& dy) {
  Tensor acc = accumulator_for(dx);
  dispatch_floating(dy.dtype(), "resize_nearest_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(dy), dy.numel(), nearest_backward_kernel<T>, dy.numel(), dx.size(2), dx.size(3), dy.size(2),
           dy.size(3), static_cast<const T*>(dy.raw_data()), static_cast<acc_t<T>*>(acc.raw_data()));
  });
  finish_accumulation(dx, acc);
}

}  // namespace mdp::cuda
