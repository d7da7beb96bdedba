// batch_norm.cpp (cpu): batch normalisation on NCHW, one channel per OpenMP task: statistics in double
// (two passes, no cancellation; a channel's planes are usually still in cache for the second), then the
// normalise-scale-shift pass; the backward likewise. The fused batch_norm_relu (+ residual) adds the
// residual and applies the ReLU inside the normalise pass, and its backward masks dy inside the sums
// and the dx pass, so the block tail reads and writes memory once instead of three times.
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
template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr; }

// One plane of S values: q = x * scale + shift, then + r (when given), then ReLU (when relu).
template <class T, class A>
void normalize_plane(int64_t S, const T* p, const T* r, T* q, A scale, A shift, bool relu) {
  if (r) {
    for (int64_t i = 0; i < S; ++i) {
      A v = cast<A>(p[i]) * scale + shift + cast<A>(r[i]);
      q[i] = cast<T>(v > A(0) ? v : A(0));
    }
  } else if (relu) {
    for (int64_t i = 0; i < S; ++i) {
      A v = cast<A>(p[i]) * scale + shift;
      q[i] = cast<T>(v > A(0) ? v : A(0));
    }
  } else {
    for (int64_t i = 0; i < S; ++i) q[i] = cast<T>(cast<A>(p[i]) * scale + shift);
  }
}

// y = [relu](batch_norm(x) [+ residual]); residual only with relu.
void forward(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
             const Tensor& running_mean, const Tensor& running_var, bool training, double momentum, double eps,
             bool relu, const Tensor& residual) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    const T* R = ptr_or_null<T>(residual);
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
        int64_t off = (n * C + c) * S;
        normalize_plane<T, A>(S, X + off, R ? R + off : nullptr, Y + off, scale, shift, relu);
      }
    }
  });
}

// dx (and dweight, dbias) of batch_norm for the gradient g = dy, or g = dy where y > 0 when y is given
// (the fused ReLU's output); g itself is written to out.dresidual when that is defined. With a mask, g
// is first written into dresidual (or else dx), and the two passes then run on it as on an unmasked dy.
void backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y, const Tensor& x,
              const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd, bool training) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    const T* Y = ptr_or_null<T>(y);
    T* DX = static_cast<T*>(out.dx.raw_data());
    T* DR = out.dresidual.defined() ? static_cast<T*>(out.dresidual.raw_data()) : nullptr;
    T* GM = DR ? DR : DX;                                           // where the masked gradient goes
    const T* G = Y ? GM : static_cast<const T*>(dy.raw_data());  // the gradient the passes see
#pragma omp parallel for
    for (int64_t c = 0; c < C; ++c) {
      if (Y) {
        const T* DY = static_cast<const T*>(dy.raw_data());
        for (int64_t n = 0; n < N; ++n) {
          int64_t off = (n * C + c) * S;
          const T *py = Y + off, *pd = DY + off;
          T* q = GM + off;
          for (int64_t i = 0; i < S; ++i) q[i] = cast<T>(cast<A>(py[i]) > A(0) ? cast<A>(pd[i]) : A(0));
        }
      }
      double m = param<T>(save_mean, c, 0), is = param<T>(save_invstd, c, 1), w = param<T>(weight, c, 1.0);
      double sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* px = X + (n * C + c) * S;
        const T* pg = G + (n * C + c) * S;
#pragma omp simd reduction(+ : sdy, sdyx)
        for (int64_t i = 0; i < S; ++i) {
          double g = cast<double>(pg[i]);
          sdy += g;
          sdyx += g * (cast<double>(px[i]) - m) * is;
        }
      }
      if (out.dweight.defined()) {
        set_param<T>(out.dweight, c, sdyx);
        set_param<T>(out.dbias, c, sdy);
      }
      // dx = w*is*(g - mean(g) - xhat*mean(g*xhat)) in training; w*is*g in eval
      A k = A(w * is), a = A(training ? sdy / double(M) : 0.0), b = A(training ? sdyx / double(M) * is : 0.0);
      A mm = A(m);
      for (int64_t n = 0; n < N; ++n) {
        int64_t off = (n * C + c) * S;
        const T *px = X + off, *pg = G + off;
        T* q = DX + off;  // may be pg itself: each element is read before it is written
        for (int64_t i = 0; i < S; ++i) q[i] = cast<T>(k * (cast<A>(pg[i]) - a - (cast<A>(px[i]) - mm) * b));
      }
    }
  });
}
}  // namespace

void CpuBackend::batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
                            const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                            double eps) {
  forward(out, x, weight, bias, running_mean, running_var, training, momentum, eps, false, Tensor());
}

void CpuBackend::batch_norm_relu(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight,
                                 const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                                 bool training, double momentum, double eps, const Tensor& residual) {
  forward(out, x, weight, bias, running_mean, running_var, training, momentum, eps, true, residual);
}

void CpuBackend::batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x,
                                     const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                     bool training) {
  backward(out, dy, Tensor(), x, weight, save_mean, save_invstd, training);
}

void CpuBackend::batch_norm_relu_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y,
                                          const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                          const Tensor& save_invstd, bool training) {
  backward(out, dy, y, x, weight, save_mean, save_invstd, training);
}

}  // namespace mdp
