// pool.cpp (cpu): max, average and adaptive average pooling on NCHW, one (n, c) plane per OpenMP task,
// with the same window rules as the reference (pool_window).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/reference/reference_backend.h"

namespace mdp {
using namespace cpu;

// Max pooling of one output row from its window's input rows rows[0..nrows) (row h0 first): best[ow]
// and arg[ow] (the flat input index h * W + w of the max). The first maximum in row-major window order
// wins, NaN over everything (as in PyTorch and the reference). The columns whose window lies inside the
// input, [lo, hi), run as one vectorised loop over ow per kernel tap; the border columns window by window.
template <class V>
void max_pool_row(const V* const* rows, int64_t nrows, int64_t h0, int64_t W, int64_t Wo,
                  const std::vector<Window>& cols, int64_t lo, int64_t hi, int64_t kw, int64_t sw, int64_t pw, V* best,
                  int64_t* arg) {
  auto take = [](V v, V b) { return v > b || v != v; };  // selects, not branches
  auto window = [&](const V* row, int64_t h, int64_t ow) {
    for (int64_t w = cols[size_t(ow)].start; w < cols[size_t(ow)].end; ++w) {
      bool t = take(row[w], best[ow]);
      best[ow] = t ? row[w] : best[ow];
      arg[ow] = t ? h * W + w : arg[ow];
    }
  };
  for (int64_t ow = 0; ow < Wo; ++ow) {
    best[ow] = -std::numeric_limits<V>::infinity();
    arg[ow] = h0 * W + cols[size_t(ow)].start;
  }
  for (int64_t r = 0; r < nrows; ++r) {
    const V* row = rows[r];
    int64_t h = h0 + r;
    for (int64_t ow = 0; ow < lo; ++ow) window(row, h, ow);
    for (int64_t k = 0; k < kw; ++k) {
      const V* base = row + k - pw;
      int64_t flat = h * W + k - pw;
#pragma omp simd
      for (int64_t ow = lo; ow < hi; ++ow) {
        V v = base[ow * sw];
        bool t = take(v, best[ow]);
        best[ow] = t ? v : best[ow];
        arg[ow] = t ? flat + ow * sw : arg[ow];
      }
    }
    for (int64_t ow = hi; ow < Wo; ++ow) window(row, h, ow);
  }
}

// Planes in parallel, output rows in order; the values are compared in acc_t<T> (bf16 rows are
// converted to float first, so the strided loads vectorise).
void CpuBackend::max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  int64_t kw = a.kernel[1], sw = a.stride[1], pw = a.padding[1];
  // The column windows, the same for every row and plane; [lo, hi) those that lie inside the input.
  std::vector<Window> cols;
  for (int64_t ow = 0; ow < Wo; ++ow) cols.push_back(pool_window(ow, W, a, 1));
  int64_t lo = 0, hi = Wo;
  while (lo < Wo && lo * sw - pw < 0) ++lo;
  while (hi > lo && (hi - 1) * sw - pw + kw > W) --hi;
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    using V = acc_t<T>;
    const T* X = static_cast<const T*>(x.raw_data());
    T* Y = static_cast<T*>(y.raw_data());
    int64_t* I = static_cast<int64_t*>(indices.raw_data());
#pragma omp parallel
    {
      // per thread: the output row's maxima, and its input rows converted to V (bf16 only)
      std::vector<V> best(static_cast<size_t>(Wo)), converted;
      std::vector<const V*> rows;
      if constexpr (!std::is_same_v<T, V>) converted.resize(size_t(a.kernel[0] * W));
#pragma omp for
      for (int64_t p = 0; p < NC; ++p)
        for (int64_t oh = 0; oh < Ho; ++oh) {
          Window wh = pool_window(oh, H, a, 0);
          rows.clear();
          for (int64_t h = wh.start; h < wh.end; ++h) {
            const T* row = X + (p * H + h) * W;
            if constexpr (std::is_same_v<T, V>) {
              rows.push_back(row);
            } else {
              V* c = converted.data() + (h - wh.start) * W;
              for (int64_t w = 0; w < W; ++w) c[w] = cast<V>(row[w]);
              rows.push_back(c);
            }
          }
          int64_t* arg = I + (p * Ho + oh) * Wo;
          max_pool_row<V>(rows.data(), int64_t(rows.size()), wh.start, W, Wo, cols, lo, hi, kw, sw, pw, best.data(), arg);
          T* yrow = Y + (p * Ho + oh) * Wo;
          for (int64_t ow = 0; ow < Wo; ++ow) yrow[ow] = X[p * H * W + arg[ow]];
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
