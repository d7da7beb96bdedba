// softmax.cu (cuda): softmax and log-softmax along one dim of a contiguous tensor, max-subtracted, and
// their backward. The tensor is viewed as (outer, n, inner) around the dim and one thread handles one
// (outer, inner) line, in the three passes of tensor/reference/softmax.cpp, in acc_t (float for float
// and bf16). Coalesced when inner is large (class dim of N, K, H, W); a long last dim is one thread's
// serial loop, which is correct but slow (good enough until a profile says otherwise).
#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

template <class T>
__global__ void softmax_kernel(int64_t outer, int64_t n, int64_t inner, bool logsm, const T* x, T* y) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, outer * inner) {
    int64_t base = (k / inner) * n * inner + k % inner;  // element (o, 0, i)
    const T* xp = x + base;
    T* yp = y + base;
    A m = -INFINITY, s = 0;
    for (int64_t j = 0; j < n; ++j) {
      A v = cast<A>(xp[j * inner]);
      m = m < v ? v : m;  // std::max(m, v)
    }
    for (int64_t j = 0; j < n; ++j) s += exp(cast<A>(xp[j * inner]) - m);
    for (int64_t j = 0; j < n; ++j) {
      A z = cast<A>(xp[j * inner]) - m;
      yp[j * inner] = cast<T>(logsm ? z - log(s) : exp(z) / s);
    }
  }
}

// softmax: dx = y (dy - sum(dy y));  log_softmax: dx = dy - exp(y) sum(dy)
template <class T>
__global__ void softmax_backward_kernel(int64_t outer, int64_t n, int64_t inner, bool logsm, const T* dy, const T* y,
                                        T* dx) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, outer * inner) {
    int64_t base = (k / inner) * n * inner + k % inner;
    A s = 0;
    for (int64_t j = 0; j < n; ++j) {
      int64_t e = base + j * inner;
      s += logsm ? cast<A>(dy[e]) : cast<A>(dy[e]) * cast<A>(y[e]);
    }
    for (int64_t j = 0; j < n; ++j) {
      int64_t e = base + j * inner;
      A g = cast<A>(dy[e]), v = cast<A>(y[e]);
      dx[e] = cast<T>(logsm ? g - exp(v) * s : v * (g - s));
    }
  }
}

// (outer, n, inner) of shape s around dim.
void split3(const Shape& s, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  n = s[size_t(dim)];
  for (int64_t i = 0; i < dim; ++i) outer *= s[size_t(i)];
  for (size_t i = size_t(dim) + 1; i < s.size(); ++i) inner *= s[i];
}

}  // namespace

// x, y, dy, dx contiguous (ops.cpp).
void CudaBackend::softmax(const Tensor& y, const Tensor& x, int64_t dim, bool log) {
  int64_t outer, n, inner;
  split3(x.shape(), dim, outer, n, inner);
  dispatch_floating(x.dtype(), "softmax", [&](auto z) {
    using T = decltype(z);
    launch(context(x), outer * inner, softmax_kernel<T>, outer, n, inner, log, static_cast<const T*>(x.raw_data()),
           static_cast<T*>(y.raw_data()));
  });
}

void CudaBackend::softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, int64_t dim, bool log) {
  int64_t outer, n, inner;
  split3(y.shape(), dim, outer, n, inner);
  dispatch_floating(y.dtype(), "softmax_backward", [&](auto z) {
    using T = decltype(z);
    launch(context(y), outer * inner, softmax_backward_kernel<T>, outer, n, inner, log,
           static_cast<const T*>(dy.raw_data()), static_cast<const T*>(y.raw_data()), static_cast<T*>(dx.raw_data()));
  });
}

}  // namespace mdp::cuda
