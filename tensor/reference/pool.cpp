// pool.cpp (reference): max pooling (with the argmax of each window), average pooling (PyTorch's
// count_include_pad and ceil_mode rules) and adaptive average pooling, with their backward.
#include <cmath>
#include <limits>

#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

Window pool_window(int64_t o, int64_t in, const ops::Pool2dArgs& a, int axis) {
  int64_t start = o * a.stride[axis] - a.padding[axis];
  int64_t end = std::min(start + a.kernel[axis], in + a.padding[axis]);
  int64_t span = end - start;  // includes padding: the count_include_pad divisor
  return {std::max<int64_t>(start, 0), std::min(end, in), span};
}

void ReferenceBackend::max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  auto vx = read_strided(x);
  std::vector<double> vy(size_t(y.numel())), vi(size_t(y.numel()));
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        Window wh = pool_window(oh, H, a, 0), ww = pool_window(ow, W, a, 1);
        double best = -std::numeric_limits<double>::infinity();
        int64_t arg = wh.start * W + ww.start;
        for (int64_t h = wh.start; h < wh.end; ++h)
          for (int64_t w = ww.start; w < ww.end; ++w) {
            double v = vx[size_t((p * H + h) * W + w)];
            if (v > best || std::isnan(v)) {
              best = v;
              arg = h * W + w;
            }
          }
        size_t k = size_t((p * Ho + oh) * Wo + ow);
        vy[k] = best;
        vi[k] = double(arg);
      }
  write_strided(y, vy);
  write_strided(indices, vi);
}

void ReferenceBackend::max_pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices) {
  int64_t NC = dx.size(0) * dx.size(1), HW = dx.size(2) * dx.size(3), S = dy.size(2) * dy.size(3);
  auto vdy = read_strided(dy), vi = read_strided(indices);
  std::vector<double> vdx(size_t(dx.numel()), 0.0);
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t s = 0; s < S; ++s) vdx[size_t(p * HW + int64_t(vi[size_t(p * S + s)]))] += vdy[size_t(p * S + s)];
  write_strided(dx, vdx);
}

void ReferenceBackend::avg_pool2d(const Tensor& y, const Tensor& x, const ops::Pool2dArgs& a) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  auto vx = read_strided(x);
  std::vector<double> vy(size_t(y.numel()));
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        Window wh = pool_window(oh, H, a, 0), ww = pool_window(ow, W, a, 1);
        double s = 0;
        for (int64_t h = wh.start; h < wh.end; ++h)
          for (int64_t w = ww.start; w < ww.end; ++w) s += vx[size_t((p * H + h) * W + w)];
        double div = a.count_include_pad ? double(wh.divisor_span * ww.divisor_span)
                                         : double((wh.end - wh.start) * (ww.end - ww.start));
        vy[size_t((p * Ho + oh) * Wo + ow)] = s / div;
      }
  write_strided(y, vy);
}

void ReferenceBackend::avg_pool2d_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs& a) {
  int64_t NC = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  auto vdy = read_strided(dy);
  std::vector<double> vdx(size_t(dx.numel()), 0.0);
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        Window wh = pool_window(oh, H, a, 0), ww = pool_window(ow, W, a, 1);
        double div = a.count_include_pad ? double(wh.divisor_span * ww.divisor_span)
                                         : double((wh.end - wh.start) * (ww.end - ww.start));
        double g = vdy[size_t((p * Ho + oh) * Wo + ow)] / div;
        for (int64_t h = wh.start; h < wh.end; ++h)
          for (int64_t w = ww.start; w < ww.end; ++w) vdx[size_t((p * H + h) * W + w)] += g;
      }
  write_strided(dx, vdx);
}

namespace {
int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }
}  // namespace

void ReferenceBackend::adaptive_avg_pool2d(const Tensor& y, const Tensor& x) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  auto vx = read_strided(x);
  std::vector<double> vy(size_t(y.numel()));
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
        int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
        double s = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) s += vx[size_t((p * H + h) * W + w)];
        vy[size_t((p * Ho + oh) * Wo + ow)] = s / double((h1 - h0) * (w1 - w0));
      }
  write_strided(y, vy);
}

void ReferenceBackend::adaptive_avg_pool2d_backward(const Tensor& dx, const Tensor& dy) {
  int64_t NC = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  auto vdy = read_strided(dy);
  std::vector<double> vdx(size_t(dx.numel()), 0.0);
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
        int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
        double g = vdy[size_t((p * Ho + oh) * Wo + ow)] / double((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) vdx[size_t((p * H + h) * W + w)] += g;
      }
  write_strided(dx, vdx);
}

}  // namespace mdp
