// resize.cpp (cpu): bilinear and nearest resize on NCHW with the source-coordinate rules of the
// reference (bilinear_source, nearest_source) precomputed per row and column; planes in parallel.
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/reference/reference_backend.h"

namespace mdp {
using namespace cpu;
namespace {
struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<double> l;  // weight of i1 (as A: float for float32 and bf16, double for float64)
  Taps(int64_t in, int64_t out, bool ac) : i0(static_cast<size_t>(out)), i1(static_cast<size_t>(out)), l(static_cast<size_t>(out)) {
    for (int64_t o = 0; o < out; ++o) {
      double s = bilinear_source(o, in, out, ac);
      i0[size_t(o)] = int64_t(s);
      i1[size_t(o)] = i0[size_t(o)] + (i0[size_t(o)] < in - 1 ? 1 : 0);
      l[size_t(o)] = s - double(i0[size_t(o)]);
    }
  }
};
}  // namespace

void CpuBackend::resize_bilinear(const Tensor& y, const Tensor& x, bool ac) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  Taps th(H, Ho, ac), tw(W, Wo, ac);
  dispatch_floating(x.dtype(), "resize_bilinear", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
#pragma omp parallel for
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const T* r0 = X + (p * H + th.i0[size_t(oh)]) * W;
        const T* r1 = X + (p * H + th.i1[size_t(oh)]) * W;
        A lh = A(th.l[size_t(oh)]);
        T* q = Y + (p * Ho + oh) * Wo;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t a0 = tw.i0[size_t(ow)], a1 = tw.i1[size_t(ow)];
          A lw = A(tw.l[size_t(ow)]);
          A top = (1 - lw) * cast<A>(r0[a0]) + lw * cast<A>(r0[a1]);
          A bot = (1 - lw) * cast<A>(r1[a0]) + lw * cast<A>(r1[a1]);
          q[ow] = cast<T>((1 - lh) * top + lh * bot);
        }
      }
  });
}

void CpuBackend::resize_bilinear_backward(const Tensor& dx, const Tensor& dy, bool ac) {
  int64_t NC = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  Taps th(H, Ho, ac), tw(W, Wo, ac);
  dispatch_floating(dx.dtype(), "resize_bilinear_backward", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const T* DY = static_cast<const T*>(dy.raw_data());
    T* DX = static_cast<T*>(dx.raw_data());  // zero-filled by the caller
#pragma omp parallel
    {
      std::vector<A> plane(size_t(H * W));
#pragma omp for
      for (int64_t p = 0; p < NC; ++p) {
        std::fill(plane.begin(), plane.end(), A(0));
        for (int64_t oh = 0; oh < Ho; ++oh) {
          A lh = A(th.l[size_t(oh)]);
          A* r0 = plane.data() + th.i0[size_t(oh)] * W;
          A* r1 = plane.data() + th.i1[size_t(oh)] * W;
          const T* g = DY + (p * Ho + oh) * Wo;
          for (int64_t ow = 0; ow < Wo; ++ow) {
            A lw = A(tw.l[size_t(ow)]), v = cast<A>(g[ow]);
            int64_t a0 = tw.i0[size_t(ow)], a1 = tw.i1[size_t(ow)];
            r0[a0] += (1 - lh) * (1 - lw) * v;
            r0[a1] += (1 - lh) * lw * v;
            r1[a0] += lh * (1 - lw) * v;
            r1[a1] += lh * lw * v;
          }
        }
        for (int64_t i = 0; i < H * W; ++i) DX[p * H * W + i] = cast<T>(plane[size_t(i)]);
      }
    }
  });
}

void CpuBackend::resize_nearest(const Tensor& y, const Tensor& x) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  std::vector<int64_t> sh(static_cast<size_t>(Ho)), sw(static_cast<size_t>(Wo));
  for (int64_t i = 0; i < Ho; ++i) sh[size_t(i)] = nearest_source(i, H, Ho);
  for (int64_t i = 0; i < Wo; ++i) sw[size_t(i)] = nearest_source(i, W, Wo);
  dispatch_dtype(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
#pragma omp parallel for
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const T* r = X + (p * H + sh[size_t(oh)]) * W;
        T* q = Y + (p * Ho + oh) * Wo;
        for (int64_t ow = 0; ow < Wo; ++ow) q[ow] = r[sw[size_t(ow)]];
      }
  });
}

void CpuBackend::resize_nearest_backward(const Tensor& dx, const Tensor& dy) {
  int64_t NC = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  std::vector<int64_t> sh(static_cast<size_t>(Ho)), sw(static_cast<size_t>(Wo));
  for (int64_t i = 0; i < Ho; ++i) sh[size_t(i)] = nearest_source(i, H, Ho);
  for (int64_t i = 0; i < Wo; ++i) sw[size_t(i)] = nearest_source(i, W, Wo);
  dispatch_floating(dx.dtype(), "resize_nearest_backward", [&](auto z) {
    using T = decltype(z);
    const T* DY = static_cast<const T*>(dy.raw_data());
    T* DX = static_cast<T*>(dx.raw_data());
#pragma omp parallel for
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          T& d = DX[(p * H + sh[size_t(oh)]) * W + sw[size_t(ow)]];
          d = cast<T>(cast<acc_t<T>>(d) + cast<acc_t<T>>(DY[(p * Ho + oh) * Wo + ow]));
        }
  });
}

}  // namespace mdp
