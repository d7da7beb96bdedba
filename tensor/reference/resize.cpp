// resize.cpp (reference): bilinear resize exactly as PyTorch's F.interpolate(mode='bilinear') for both
// align_corners settings, nearest resize as mode='nearest', and their backward.
#include <cmath>

#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

double bilinear_source(int64_t dst, int64_t in, int64_t out, bool align_corners) {
  if (align_corners) return out > 1 ? double(dst) * double(in - 1) / double(out - 1) : 0.0;
  double src = (double(dst) + 0.5) * double(in) / double(out) - 0.5;
  return src < 0 ? 0.0 : src;
}

int64_t nearest_source(int64_t dst, int64_t in, int64_t out) {
  float scale = float(in) / float(out);
  return std::min(int64_t(std::floor(float(dst) * scale)), in - 1);
}

namespace {
// Calls f(src_index, dst_index, weight) for the four taps of every output pixel.
template <class F>
void for_each_bilinear_tap(const Shape& xs, const Shape& ys, bool ac, F&& f) {
  int64_t NC = xs[0] * xs[1], H = xs[2], W = xs[3], Ho = ys[2], Wo = ys[3];
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh) {
      double sh = bilinear_source(oh, H, Ho, ac);
      int64_t h0 = int64_t(sh), h1 = h0 + (h0 < H - 1 ? 1 : 0);
      double lh = sh - double(h0);
      for (int64_t ow = 0; ow < Wo; ++ow) {
        double sw = bilinear_source(ow, W, Wo, ac);
        int64_t w0 = int64_t(sw), w1 = w0 + (w0 < W - 1 ? 1 : 0);
        double lw = sw - double(w0);
        size_t d = size_t((p * Ho + oh) * Wo + ow);
        auto at = [&](int64_t h, int64_t w) { return size_t((p * H + h) * W + w); };
        f(at(h0, w0), d, (1 - lh) * (1 - lw));
        f(at(h0, w1), d, (1 - lh) * lw);
        f(at(h1, w0), d, lh * (1 - lw));
        f(at(h1, w1), d, lh * lw);
      }
    }
}
}  // namespace

void ReferenceBackend::resize_bilinear(const Tensor& y, const Tensor& x, bool align_corners) {
  auto vx = read_strided(x);
  std::vector<double> vy(size_t(y.numel()), 0.0);
  for_each_bilinear_tap(x.shape(), y.shape(), align_corners, [&](size_t s, size_t d, double w) { vy[d] += w * vx[s]; });
  write_strided(y, vy);
}

void ReferenceBackend::resize_bilinear_backward(const Tensor& dx, const Tensor& dy, bool align_corners) {
  auto vdy = read_strided(dy);
  std::vector<double> vdx(size_t(dx.numel()), 0.0);
  for_each_bilinear_tap(dx.shape(), dy.shape(), align_corners, [&](size_t s, size_t d, double w) { vdx[s] += w * vdy[d]; });
  write_strided(dx, vdx);
}

void ReferenceBackend::resize_nearest(const Tensor& y, const Tensor& x) {
  int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  auto vx = read_strided(x);
  std::vector<double> vy(size_t(y.numel()));
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow)
        vy[size_t((p * Ho + oh) * Wo + ow)] =
            vx[size_t((p * H + nearest_source(oh, H, Ho)) * W + nearest_source(ow, W, Wo))];
  write_strided(y, vy);
}

void ReferenceBackend::resize_nearest_backward(const Tensor& dx, const Tensor& dy) {
  int64_t NC = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), Ho = dy.size(2), Wo = dy.size(3);
  auto vdy = read_strided(dy);
  std::vector<double> vdx(size_t(dx.numel()), 0.0);
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow)
        vdx[size_t((p * H + nearest_source(oh, H, Ho)) * W + nearest_source(ow, W, Wo))] +=
            vdy[size_t((p * Ho + oh) * Wo + ow)];
  write_strided(dx, vdx);
}

}  // namespace mdp
