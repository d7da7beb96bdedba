// batch_norm.cpp (cpu): batch normalisation on NCHW, one channel per OpenMP task: statistics in double
// (two passes, no cancellation), then the normalise-scale-shift pass; the backward likewise.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace mdp {
using namespace cpu;
namespace {
template <class P> double param(const Tensor& t, int64_t c, double dflt) {
  if (!t.defined()) return dflt;
  return t.dtype() == DType::Float32 ? double(static_cast<const float*>(t.raw_data())[c])
                                     : cast<double>(static_cast<const P*>(t.raw_data())[c]);
}
template <class P> void set_param(const Tensor& t, int64_t c, double v) {
  if (t.dtype() == DType::Float32) static_cast<float*>(t.raw_data())[c] = float(v);
  else static_cast<P*>(t.raw_data())[c] = cast<P>(v);
}
}  // namespace

void CpuBackend::batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                            double eps) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(out.y.raw_data());
#pragma omp parallel for
    for (int64_t c = 0; c < C; ++c) {
      double m, v;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < S; ++i) s += cast<double>(p[i]);
        }
        m = s / double(M);
        double ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
#pragma omp simd reduction(+ : ss)
          for (int64_t i = 0; i < S; ++i) {
            double d = cast<double>(p[i]) - m;
            ss += d * d;
          }
        }
        v = ss / double(M);
        if (running_mean.defined()) {
          set_param<T>(running_mean, c, (1 - momentum) * param<T>(running_mean, c, 0) + momentum * m);
          set_param<T>(running_var, c,
                       (1 - momentum) * param<T>(running_var, c, 0) + momentum * v * double(M) / double(M - 1));
        }
      } else {
        m = param<T>(running_mean, c, 0);
        v = param<T>(running_var, c, 1);
      }
      double invstd = 1.0 / std::sqrt(v + eps);
      set_param<T>(out.save_mean, c, m);
      set_param<T>(out.save_invstd, c, invstd);
      using A = acc_t<T>;
      A scale = A(param<T>(weight, c, 1.0) * invstd);
      A shift = A(param<T>(bias, c, 0.0) - m * param<T>(weight, c, 1.0) * invstd);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = X + (n * C + c) * S;
        T* q = Y + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) q[i] = cast<T>(cast<A>(p[i]) * scale + shift);
      }
    }
  });
}

void CpuBackend::batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x,
                                     const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                     bool training) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    const T* DY = static_cast<const T*>(dy.raw_data());
    T* DX = static_cast<T*>(out.dx.raw_data());
#pragma omp parallel for
    for (int64_t c = 0; c < C; ++c) {
      double m = param<T>(save_mean, c, 0), is = param<T>(save_invstd, c, 1), w = param<T>(weight, c, 1.0);
      double sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* px = X + (n * C + c) * S;
        const T* pd = DY + (n * C + c) * S;
#pragma omp simd reduction(+ : sdy, sdyx)
        for (int64_t i = 0; i < S; ++i) {
          double g = cast<double>(pd[i]);
          sdy += g;
          sdyx += g * (cast<double>(px[i]) - m) * is;
        }
      }
      if (out.dweight.defined()) {
        set_param<T>(out.dweight, c, sdyx);
        set_param<T>(out.dbias, c, sdy);
      }
      using A = acc_t<T>;
      // dx = w*is*(dy - mean(dy) - xhat*mean(dy*xhat)) in training; w*is*dy in eval
      A k = A(w * is), a = A(training ? sdy / double(M) : 0.0), b = A(training ? sdyx / double(M) * is : 0.0);
      A mm = A(m);
      for (int64_t n = 0; n < N; ++n) {
        const T* px = X + (n * C + c) * S;
        const T* pd = DY + (n * C + c) * S;
        T* q = DX + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) q[i] = cast<T>(k * (cast<A>(pd[i]) - a - (cast<A>(px[i]) - mm) * b));
      }
    }
  });
}

}  // namespace mdp
