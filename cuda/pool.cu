// pool.cu (cuda): max pooling (with the argmax of each window as an index into the H*W plane), average
// pooling (count_include_pad, ceil_mode) and adaptive average pooling, with their backward passes.
// One thread per output element, windows exactly as tensor/reference/pool.cpp computes them; the
// backward passes scatter with atomicAdd into zero-filled gradients (float32 accumulation for bf16).
#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

// ops::Pool2dArgs without its vectors, for kernel arguments.
struct Pool {
  int64_t kernel[2], stride[2], padding[2];
  bool count_include_pad;
  explicit Pool(const ops::Pool2dArgs& a)
      : kernel{a.kernel[0], a.kernel[1]}, stride{a.stride[0], a.stride[1]}, padding{a.padding[0], a.padding[1]},
        count_include_pad(a.count_include_pad) {}
};

struct Window {
  int64_t start, end, divisor_span;
};

// reference pool.cpp pool_window: [start, end) clipped to the input; the span includes padding.
__device__ Window pool_window(int64_t o, int64_t in, const Pool& a, int axis) {
  int64_t start = o * a.stride[axis] - a.padding[axis];
  int64_t end = min(start + a.kernel[axis], in + a.padding[axis]);
  int64_t span = end - start;
  return {max(start, int64_t(0)), min(end, in), span};
}

__device__ double avg_divisor(const Window& wh, const Window& ww, bool count_include_pad) {
  return count_include_pad ? double(wh.divisor_span * ww.divisor_span)
                           : double((wh.end - wh.start) * (ww.end - ww.start));
}

// reference pool.cpp adaptive_start / adaptive_end.
__device__ int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
__device__ int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// Output element k of an (NC, Ho, Wo) block: plane p, row oh, column ow.
struct Out {
  int64_t p, oh, ow;
  __device__ Out(int64_t k, int64_t Ho, int64_t Wo) : p(k / (Ho * Wo)), oh((k / Wo) % Ho), ow(k % Wo) {}
};

template <class T>
__global__ void max_pool_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, Pool a, const T* x, T* y,
                                int64_t* indices) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Out o(k, Ho, Wo);
    Window wh = pool_window(o.oh, H, a, 0), ww = pool_window(o.ow, W, a, 1);
    A best = -INFINITY;
    int64_t arg = wh.start * W + ww.start;
    for (int64_t h = wh.start; h < wh.end; ++h)
      for (int64_t w = ww.start; w < ww.end; ++w) {
        A v = cast<A>(x[(o.p * H + h) * W + w]);
        if (v > best || isnan(v)) {
          best = v;
          arg = h * W + w;
        }
      }
    y[k] = cast<T>(best);
    indices[k] = arg;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(int64_t n, int64_t HW, int64_t S, const T* dy, const int64_t* indices,
                                         acc_t<T>* dx) {
  MDP_CUDA_LOOP(k, n) atomicAdd(&dx[(k / S) * HW + indices[k]], cast<acc_t<T>>(dy[k]));
}

template <class T>
__global__ void avg_pool_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, Pool a, const T* x, T* y) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Out o(k, Ho, Wo);
    Window wh = pool_window(o.oh, H, a, 0), ww = pool_window(o.ow, W, a, 1);
    A s = 0;
    for (int64_t h = wh.start; h < wh.end; ++h)
      for (int64_t w = ww.start; w < ww.end; ++w) s += cast<A>(x[(o.p * H + h) * W + w]);
    y[k] = cast<T>(s / A(avg_divisor(wh, ww, a.count_include_pad)));
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, Pool a, const T* dy,
                                         acc_t<T>* dx) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Out o(k, Ho, Wo);
    Window wh = pool_window(o.oh, H, a, 0), ww = pool_window(o.ow, W, a, 1);
    A g = cast<A>(dy[k]) / A(avg_divisor(wh, ww, a.count_include_pad));
    for (int64_t h = wh.start; h < wh.end; ++h)
      for (int64_t w = ww.start; w < ww.end; ++w) atomicAdd(&dx[(o.p * H + h) * W + w], g);
  }
}

template <class T>
__global__ void adaptive_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* x, T* y) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Out o(k, Ho, Wo);
    int64_t h0 = adaptive_start(o.oh, H, Ho), h1 = adaptive_end(o.oh, H, Ho);
    int64_t w0 = adaptive_start(o.ow, W, Wo), w1 = adaptive_end(o.ow, W, Wo);
    A s = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) s += cast<A>(x[(o.p * H + h) * W + w]);
    y[k] = cast<T>(s / A((h1 - h0) * (w1 - w0)));
  }
}

template <class T>
__global__ void adaptive_backward_kernel(int64_t n, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const T* dy,
                                         acc_t<T>* dx) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    Out o(k, Ho, Wo);
    int64_t h0 = adaptive_start(o.oh, H, Ho), h1 = adaptive_end(o.oh, H, Ho);
    int64_t w0 = adaptive_start(o.ow, W, Wo), w1 = adaptive_end(o.ow, W, Wo);
    A g = cast<A>(dy[k]) / A((h1 - h0) * (w1 - w0));
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) atomicAdd(&dx[(o.p * H + h) * W + w], g);
  }
}

template <class T> const T* in(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T> T* out(const Tensor& t) { return static_cast<T*>(t.raw_data()); }

}  // namespace

// All tensors here are contiguous (ops.cpp); gradients dx arrive zero-filled.
void CudaBackend::max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a) {
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    launch(context(x), y.numel(), max_pool_kernel<T>, y.numel(), x.size(2), x.size(3), y.size(2), y.size(3), Pool(a),
           in<T>(x), out<T>(y), out<int64_t>(indices));
  });
}

void CudaBackend::max_pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices) {
  Tensor acc = accumulator_for(dx);
  dispatch_floating(dy.dtype(), "max_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(dy), dy.numel(), max_pool_backward_kernel<T>, dy.numel(), dx.size(2) * dx.size(3),
           dy.size(2) * dy.size(3), in<T>(dy), in<int64_t>(indices), out<acc_t<T>>(acc));
  });
  finish_accumulation(dx, acc);
}

void CudaBackend::avg_pool2d(const Tensor& y, const Tensor& x, const ops::Pool2dArgs& a) {
  dispatch_floating(x.dtype(), "avg_pool2d", [&](auto z) {
    using T = decltype(z);
    launch(context(x), y.numel(), avg_pool_kernel<T>, y.numel(), x.size(2), x.size(3), y.size(2), y.size(3), Pool(a),
           in<T>(x), out<T>(y));
  });
}

void CudaBackend::avg_pool2d_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs& a) {
  Tensor acc = accumulator_for(dx);
  dispatch_floating(dy.dtype(), "avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(dy), dy.numel(), avg_pool_backward_kernel<T>, dy.numel(), dx.size(2), dx.size(3), dy.size(2),
           dy.size(3), Pool(a), in<T>(dy), out<acc_t<T>>(acc));
  });
  finish_accumulation(dx, acc);
}

void CudaBackend::adaptive_avg_pool2d(const Tensor& y, const Tensor& x) {
  dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto z) {
    using T = decltype(z);
    launch(context(x), y.numel(), adaptive_kernel<T>, y.numel(), x.size(2), x.size(3), y.size(2), y.size(3), in<T>(x),
           out<T>(y));
  });
}

void CudaBackend::adaptive_avg_pool2d_backward(const Tensor& dx, const Tensor& dy) {
  Tensor acc = accumulator_for(dx);
  dispatch_floating(dy.dtype(), "adaptive_avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(dy), dy.numel(), adaptive_backward_kernel<T>, dy.numel(), dx.size(2), dx.size(3), dy.size(2),
           dy.size(3), in<T>(dy), out<acc_t<T>>(acc));
  });
  finish_accumulation(dx, acc);
}

}  // namespace mdp::cuda
