// batch_norm.cu (cuda): batch normalisation over (N, H, W) per channel, training and eval, and its
// backward, as plain kernels rather than cuDNN's batch-norm calls: cuDNN has no eval-mode backward,
// wants float parameters for bf16 data and ones/zeros for affine = false, so the kernels are both
// smaller and line by line the reference (tensor/reference/batch_norm.cpp). Per-channel sums run one
// block per channel in double; parameters and statistics are used as contiguous acc_t (float32, or
// float64 for float64 input) copies, written back when the caller's tensors have another dtype.
#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

// Element k of a contiguous (N, C, S) tensor lies in channel (k / S) % C; the m-th element of
// channel c (m < N*S) is at ((m / S) * C + c) * S + m % S.
__device__ inline int64_t channel_at(int64_t m, int64_t c, int64_t C, int64_t S) { return ((m / S) * C + c) * S + m % S; }

// Training: the batch mean and biased variance (two passes), and the running statistics, when given,
// updated with the unbiased variance. Eval: the running statistics. Then save_mean and save_invstd.
template <class T>
__global__ void stats_kernel(int64_t N, int64_t C, int64_t S, const T* x, bool training, double momentum, double eps,
                             acc_t<T>* rm, acc_t<T>* rv, acc_t<T>* save_mean, acc_t<T>* save_invstd) {
  using A = acc_t<T>;
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double m, v;
    if (training) {
      double s = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) s += cast<double>(x[channel_at(i, c, C, S)]);
      m = block_reduce(s, SumOp{}) / double(M);
      double ss = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
        double d = cast<double>(x[channel_at(i, c, C, S)]) - m;
        ss += d * d;
      }
      v = block_reduce(ss, SumOp{}) / double(M);
      if (rm && threadIdx.x == 0) {
        rm[c] = A((1 - momentum) * double(rm[c]) + momentum * m);
        rv[c] = A((1 - momentum) * double(rv[c]) + momentum * v * double(M) / double(M - 1));
      }
    } else {
      m = double(rm[c]);
      v = double(rv[c]);
    }
    if (threadIdx.x == 0) {
      save_mean[c] = A(m);
      save_invstd[c] = A(1.0 / sqrt(v + eps));
    }
  }
}

// y = (x - mean) * invstd * w + b; w and b null when affine = false.
template <class T>
__global__ void normalize_kernel(int64_t n, int64_t C, int64_t S, const T* x, T* y, const acc_t<T>* mean,
                                 const acc_t<T>* invstd, const acc_t<T>* w, const acc_t<T>* b) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    int64_t c = (k / S) % C;
    y[k] = cast<T>((cast<A>(x[k]) - mean[c]) * invstd[c] * (w ? w[c] : A(1)) + (b ? b[c] : A(0)));
  }
}

// Per channel: sum(dy) and sum(dy * xhat), xhat = (x - mean) * invstd.
template <class T>
__global__ void backward_sums_kernel(int64_t N, int64_t C, int64_t S, const T* dy, const T* x, const acc_t<T>* mean,
                                     const acc_t<T>* invstd, acc_t<T>* sum_dy, acc_t<T>* sum_dy_xhat) {
  using A = acc_t<T>;
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0, sx = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      int64_t k = channel_at(i, c, C, S);
      double g = cast<double>(dy[k]), xhat = (cast<double>(x[k]) - double(mean[c])) * double(invstd[c]);
      s += g;
      sx += g * xhat;
    }
    s = block_reduce(s, SumOp{});
    sx = block_reduce(sx, SumOp{});
    if (threadIdx.x == 0) {
      sum_dy[c] = A(s);
      sum_dy_xhat[c] = A(sx);
    }
  }
}

// training: dx = w invstd (dy - sum_dy / M - xhat sum_dy_xhat / M); eval: dx = w invstd dy.
template <class T>
__global__ void backward_dx_kernel(int64_t n, int64_t C, int64_t S, int64_t M, bool training, const T* dy, const T* x,
                                   const acc_t<T>* mean, const acc_t<T>* invstd, const acc_t<T>* w,
                                   const acc_t<T>* sum_dy, const acc_t<T>* sum_dy_xhat, T* dx) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(k, n) {
    int64_t c = (k / S) % C;
    A g = (w ? w[c] : A(1)) * invstd[c];
    if (training) {
      A xhat = (cast<A>(x[k]) - mean[c]) * invstd[c];
      dx[k] = cast<T>(g * (cast<A>(dy[k]) - sum_dy[c] / A(M) - xhat * sum_dy_xhat[c] / A(M)));
    } else {
      dx[k] = cast<T>(g * cast<A>(dy[k]));
    }
  }
}

// t as a contiguous tensor of dtype d: t itself when it is one already, else a converted copy.
Tensor as_acc(const Tensor& t, DType d) { return t.defined() ? ops::contiguous(ops::to(t, d)) : t; }
template <class A> A* acc_ptr(const Tensor& t) { return t.defined() ? static_cast<A*>(t.raw_data()) : nullptr; }

}  // namespace

void CudaBackend::batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                             double eps) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3);
  DType ad = acc_dtype(x.dtype());
  Tensor w = as_acc(weight, ad), b = as_acc(bias, ad), rm = as_acc(running_mean, ad), rv = as_acc(running_var, ad);
  Context& c = context(x);
  dispatch_floating(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    // out.save_mean / save_invstd are fresh contiguous tensors of dtype ad.
    launch_blocks(c, C, stats_kernel<T>, N, C, S, static_cast<const T*>(x.raw_data()), training, momentum, eps,
                  acc_ptr<A>(rm), acc_ptr<A>(rv), acc_ptr<A>(out.save_mean), acc_ptr<A>(out.save_invstd));
    launch(c, x.numel(), normalize_kernel<T>, x.numel(), C, S, static_cast<const T*>(x.raw_data()),
           static_cast<T*>(out.y.raw_data()), acc_ptr<const A>(out.save_mean), acc_ptr<const A>(out.save_invstd),
           acc_ptr<const A>(w), acc_ptr<const A>(b));
  });
  if (training && running_mean.defined()) {
    if (!rm.same(running_mean)) ops::copy_(running_mean, rm);
    if (!rv.same(running_var)) ops::copy_(running_var, rv);
  }
}

void CudaBackend::batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x,
                                      const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                      bool training) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3);
  DType ad = acc_dtype(x.dtype());
  Tensor w = as_acc(weight, ad), mean = as_acc(save_mean, ad), invstd = as_acc(save_invstd, ad);
  Tensor sum_dy = ops::empty({C}, ad, x.device()), sum_dy_xhat = ops::empty({C}, ad, x.device());
  Context& c = context(x);
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    const T* DY = static_cast<const T*>(dy.raw_data());
    launch_blocks(c, C, backward_sums_kernel<T>, N, C, S, DY, X, acc_ptr<const A>(mean), acc_ptr<const A>(invstd),
                  acc_ptr<A>(sum_dy), acc_ptr<A>(sum_dy_xhat));
    launch(c, x.numel(), backward_dx_kernel<T>, x.numel(), C, S, N * S, training, DY, X, acc_ptr<const A>(mean),
           acc_ptr<const A>(invstd), acc_ptr<const A>(w), acc_ptr<const A>(sum_dy), acc_ptr<const A>(sum_dy_xhat),
           static_cast<T*>(out.dx.raw_data()));
  });
  if (out.dweight.defined()) {
    ops::copy_(out.dweight, sum_dy_xhat);
    ops::copy_(out.dbias, sum_dy);
  }
}

}  // namespace mdp::cuda
