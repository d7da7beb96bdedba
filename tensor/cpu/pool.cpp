// pool.cpp (cpu): max, average and adaptive average pooling on NCHW, one (n, c) plane per OpenMP task,
// with the same window rules as the reference (pool_window).
#include <cmath>
#include <limits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/reference/reference_backend.h"

namespace mdp {
using namespace cpu;

void CpuBackend::max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
    int64_t* I = static_cast<int64_t*>(indices.raw_data());
#pragma omp parallel for
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        Window wh = pool_window(oh, H, a, 0);
        for (int64_t ow = 0; ow < Wo; ++ow) {
          Window ww = pool_window(ow, W, a, 1);
          float best = -std::numeric_limits<float>::infinity();
          int64_t arg = wh.start * W + ww.start;
          for (int64_t h = wh.start; h < wh.end; ++h)
            for (int64_t w = ww.start; w < ww.end; ++w) {
              float v = cast<float>(X[(p * H + h) * W + w]);
              bool take = v > best || v != v;  // NaN wins, as in PyTorch; selects, not branches
              best = take ? v : best;
              arg = take ? h * W + w : arg;
            }
          Y[(p * Ho + oh) * Wo + ow] = X[p * H * W + arg];
          I[(p * Ho + oh) * Wo + ow] = arg;
        }
      }
  });
}

void CpuBackend::max_pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices) {
  int64_t NC = dx.size(0) * dx.size(1), HW = dx.size(2) * dx.size(3), S = dy.size(2) * dy.size(3);
  dispatch_floating(dx.dtype(), "max_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    const T* DY = static_cast<const T*>(dy.raw_data());
    const int64_t* I = static_cast<const int64_t*>(indices.raw_data());
    T* DX = static_cast<T*>(dx.raw_data());  // zero-filled by the caller
#pragma omp parallel for
    for (int64_t p = 0; p < NC; ++p)
      for (int64_t s = 0; s < S; ++s) {
        T& d = DX[p * HW + I[p * S + s]];
        d = cast<T>(cast<acc_t<T>>(d) + cast<acc_t<T>>(DY[p * S + s]));
      }
  });
}

namespace {
double avg_divisor(const Window& wh, const Window& ww, const ops::Pool2dArgs& a) {
  return a.count_include_pad ? double(wh.divisor_span * ww.divisor_span)
                             : double((wh.end - wh.start) * (ww.end - ww.start));
}
int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// Calls f(plane, oh, ow, h0, h1, w0, w1, divisor) for each output pixel of an average pooling, planes
// in parallel. Adaptive when a is null.
template <class F>
void for_each_avg_window(const Shape& xs, const Shape& ys, const ops::Pool2dArgs* a, F&& f) {
  int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], Ho = ys[2], Wo = ys[3];
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        if (a) {
          Window wh = pool_window(oh, H, *a, 0), ww = pool_window(ow, W, *a, 1);
          f(p, oh, ow, wh.start, wh.end, ww.start, ww.end, avg_divisor(wh, ww, *a));
        } else {
          int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
          int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
          f(p, oh, ow, h0, h1, w0, w1, double((h1 - h0) * (w1 - w0)));
        }
      }
}

void avg_forward(const Tensor& y, const Tensor& x, const ops::Pool2dArgs* a) {
  int64_t H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  dispatch_floating(x.dtype(), "avg_pool2d", [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
    for_each_avg_window(x.shape(), y.shape(), a,
                        [&](int64_t p, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
                          double s = 0;
                          for (int64_t h = h0; h < h1; ++h)
                            for (int64_t w = w0; w < w1; ++w) s += cast<double>(X[(p * H + h) * W + w]);
                          Y[(p * Ho + oh) * Wo + ow] = cast<T>(s / div);
                        });
  });
}

void avg_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs* a) {
  int64_t H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  dispatch_floating(dx.dtype(), "avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    const T* DY = static_cast<const T*>(dy.raw_data());
    T* DX = static_cast<T*>(dx.raw_data());  // zero-filled by the caller; each task owns its plane
    for_each_avg_window(dx.shape(), dy.shape(), a,
                        [&](int64_t p, int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
                          acc_t<T> g = acc_t<T>(cast<double>(DY[(p * Ho + oh) * Wo + ow]) / div);
                          for (int64_t h = h0; h < h1; ++h)
                            for (int64_t w = w0; w < w1; ++w) {
                              T& d = DX[(p * H + h) * W + w];
                              d = cast<T>(cast<acc_t<T>>(d) + g);
                            }
                        });
  });
}
}  // namespace

void CpuBackend::avg_pool2d(const Tensor& y, const Tensor& x, const ops::Pool2dArgs& a) { avg_forward(y, x, &a); }
void CpuBackend::avg_pool2d_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs& a) { avg_backward(dx, dy, &a); }
void CpuBackend::adaptive_avg_pool2d(const Tensor& y, const Tensor& x) { avg_forward(y, x, nullptr); }
void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& dx, const Tensor& dy) { avg_backward(dx, dy, nullptr); }

}  // namespace mdp
