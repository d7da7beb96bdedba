// batch_norm.cpp (cpu): batch normalisation on NCHW, one channel per OpenMP task: statistics in two
// passes (mean, then squared deviations: no cancellation; a channel's planes are usually still in
// cache for the second), then the normalise-scale-shift pass; the backward likewise. The fused
// batch_norm_relu (+ residual) adds the residual and applies the ReLU inside the normalise pass, and
// its backward masks dy inside the sums and the dx pass, so the block tail reads and writes memory
// once instead of three times. The sums run in float (double for float64) over blocks of 1024 values,
// added up in double: twice the vector width of double sums, and no float partial sum long enough to
// lose precision.
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

// The loops over a plane's values. The compiler vectorises a loop over bf16 data 32 floats at a time
// (two AVX-512 registers, which also hides the additions' latency), leaving up to 31 values to a scalar
// tail: most of a 7x7 plane. So each loop runs the bulk in steps of 32 and the rest in steps of 16.
constexpr int64_t kWide = 32;

// body(i) for i in [0, S).
template <class F>
void for_plane(int64_t S, F body) {  // by value: the captures are locals the loops can keep in registers
  int64_t mid = S / kWide * kWide;
#pragma omp simd
  for (int64_t i = 0; i < mid; ++i) body(i);
#pragma omp simd simdlen(16)
  for (int64_t i = mid; i < S; ++i) body(i);
}

// Adds sum_i f(i) over a plane of S values to s. Each block of kBlock values is summed in A (float for
// float32 and bf16), the vector lanes as independent partial sums, and the block's sum added in double.
constexpr int64_t kBlock = 1024;
template <class A, class F>
void add_plane_sum(int64_t S, double& s, F f) {
  for (int64_t b = 0; b < S; b += kBlock) {
    int64_t e = std::min(S, b + kBlock), mid = b + (e - b) / kWide * kWide;
    A p = 0, q = 0;
#pragma omp simd reduction(+ : p)
    for (int64_t i = b; i < mid; ++i) p += f(i);
#pragma omp simd simdlen(16) reduction(+ : q)
    for (int64_t i = mid; i < e; ++i) q += f(i);
    s += double(p) + double(q);
  }
}

// One plane of S values: q = x * scale + shift, then + r (when given), then ReLU (when relu).
template <class T, class A>
void normalize_plane(int64_t S, const T* p, const T* r, T* q, A scale, A shift, bool relu) {
  if (r) {
    for_plane(S, [=](int64_t i) {
      A v = cast<A>(p[i]) * scale + shift + cast<A>(r[i]);
      q[i] = cast<T>(v <= A(0) ? A(0) : v);  // NaN stays NaN, as torch.relu
    });
  } else if (relu) {
    for_plane(S, [=](int64_t i) {
      A v = cast<A>(p[i]) * scale + shift;
      q[i] = cast<T>(v <= A(0) ? A(0) : v);  // NaN stays NaN, as torch.relu
    });
  } else {
    for_plane(S, [=](int64_t i) { q[i] = cast<T>(cast<A>(p[i]) * scale + shift); });
  }
}

// y = [relu](batch_norm(x) [+ residual]); residual only with relu.
void forward(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
             const Tensor& running_mean, const Tensor& running_var, bool training, double momentum, double eps,
             bool relu, const Tensor& residual) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), M = N * S;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    const T* R = ptr_or_null<T>(residual);
    T* Y = static_cast<T*>(out.y.raw_data());
#pragma omp parallel for
    for (int64_t c = 0; c < C; ++c) {
      double m, v;
      if (training) {
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
          add_plane_sum<A>(S, s, [p](int64_t i) { return cast<A>(p[i]); });
        }
        m = s / double(M);
        A mean = A(m);
        for (int64_t n = 0; n < N; ++n) {
          const T* p = X + (n * C + c) * S;
          add_plane_sum<A>(S, ss, [p, mean](int64_t i) {
            A d = cast<A>(p[i]) - mean;
            return d * d;
          });
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
      A scale = A(param<T>(weight, c, 1.0) * invstd);
      A shift = A(param<T>(bias, c, 0.0) - m * param<T>(weight, c, 1.0) * invstd);
      for (int64_t n = 0; n < N; ++n) {
        int64_t off = (n * C + c) * S;
        normalize_plane<T, A>(S, X + off, R ? R + off : nullptr, Y + off, scale, shift, relu);
      }
    }
  });
}

// Adds a plane's sum g and sum g * (x - mean) to sdy and sdyx, as add_plane_sum does; g is dy, or with
// Masked dy where y > 0, and with Store it is also written to pr.
template <bool Masked, bool Store, class T, class A>
void grad_sums(int64_t S, const T* pd, const T* py, const T* px, A mean, T* pr, double& sdy, double& sdyx) {
  auto g_at = [=](int64_t i) {
    A g = cast<A>(pd[i]);
    if constexpr (Masked) g = cast<A>(py[i]) > A(0) ? g : A(0);
    if constexpr (Store) pr[i] = cast<T>(g);
    return g;
  };
  for (int64_t b = 0; b < S; b += kBlock) {
    int64_t e = std::min(S, b + kBlock), mid = b + (e - b) / kWide * kWide;
    A p0 = 0, p1 = 0, q0 = 0, q1 = 0;
#pragma omp simd reduction(+ : p0, p1)
    for (int64_t i = b; i < mid; ++i) {
      A g = g_at(i);
      p0 += g;
      p1 += g * (cast<A>(px[i]) - mean);
    }
#pragma omp simd simdlen(16) reduction(+ : q0, q1)
    for (int64_t i = mid; i < e; ++i) {
      A g = g_at(i);
      q0 += g;
      q1 += g * (cast<A>(px[i]) - mean);
    }
    sdy += double(p0) + double(q0);
    sdyx += double(p1) + double(q1);
  }
}

// The backward of one channel c. g, the gradient that reaches the batch norm, is dy, or with Masked
// dy where y > 0 (y the fused ReLU's output). g is written to DR (dresidual) when that is given.
// dx = w*is*(g - mean(g) - xhat*mean(g*xhat)) in training; w*is*g in eval.
template <bool Masked, class T>
void backward_channel(int64_t c, int64_t N, int64_t C, int64_t S, const T* X, const T* DY, const T* Y, T* DX, T* DR,
                      double m, double is, double w, bool training, double* dweight, double* dbias) {
  using A = acc_t<T>;
  A mean = A(m);
  double sdy = 0, sdyx = 0;  // sum g, sum g * (x - m)
  for (int64_t n = 0; n < N; ++n) {
    int64_t off = (n * C + c) * S;
    const T *px = X + off, *pd = DY + off, *py = Masked ? Y + off : nullptr;
    T* pr = DR ? DR + off : nullptr;
    if (pr) grad_sums<Masked, true>(S, pd, py, px, mean, pr, sdy, sdyx);
    else grad_sums<Masked, false>(S, pd, py, px, mean, pr, sdy, sdyx);
  }
  sdyx *= is;
  *dweight = sdyx;
  *dbias = sdy;
  double M = double(N * S);
  A k = A(w * is), a = A(training ? sdy / M : 0.0), b = A(training ? sdyx / M * is : 0.0);
  for (int64_t n = 0; n < N; ++n) {
    int64_t off = (n * C + c) * S;
    const T *px = X + off, *pd = DY + off, *py = Masked ? Y + off : nullptr;
    T* q = DX + off;
    if (DR) {  // g as written above
      const T* pg = DR + off;
      for_plane(S, [=](int64_t i) { q[i] = cast<T>(k * (cast<A>(pg[i]) - a - (cast<A>(px[i]) - mean) * b)); });
    } else {
      for_plane(S, [=](int64_t i) {
        A g = cast<A>(pd[i]);
        if constexpr (Masked) g = cast<A>(py[i]) > A(0) ? g : A(0);
        q[i] = cast<T>(k * (g - a - (cast<A>(px[i]) - mean) * b));
      });
    }
  }
}

// dx (and dweight, dbias) of batch_norm for the gradient dy, or of batch_norm_relu when y (its output)
// is given; out.dresidual, when defined, receives the masked gradient.
void backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y, const Tensor& x,
              const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd, bool training) {
  int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3);
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    const T* DY = static_cast<const T*>(dy.raw_data());
    const T* Y = ptr_or_null<T>(y);
    T* DX = static_cast<T*>(out.dx.raw_data());
    T* DR = out.dresidual.defined() ? static_cast<T*>(out.dresidual.raw_data()) : nullptr;
#pragma omp parallel for
    for (int64_t c = 0; c < C; ++c) {
      double m = param<T>(save_mean, c, 0), is = param<T>(save_invstd, c, 1), w = param<T>(weight, c, 1.0);
      double dweight, dbias;
      if (Y) backward_channel<true>(c, N, C, S, X, DY, Y, DX, DR, m, is, w, training, &dweight, &dbias);
      else backward_channel<false>(c, N, C, S, X, DY, Y, DX, DR, m, is, w, training, &dweight, &dbias);
      if (out.dweight.defined()) {
        set_param<T>(out.dweight, c, dweight);
        set_param<T>(out.dbias, c, dbias);
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
