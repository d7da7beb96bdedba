// transforms.cpp: resize/crop/flip/photometric/normalize/pad on Samples and the pipeline that chains
// them. Plain loops over 8-bit HWC images and int32 label maps; the random draws happen in the order
// MMSegmentation makes them, all from the caller's Generator.
#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/error.h"
#include "tensor/random.h"

namespace mdp::data {

namespace {

constexpr int kCoefBits = 11;               // cv2's INTER_RESIZE_COEF_BITS
constexpr int kCoefScale = 1 << kCoefBits;

// cv2's per-destination-coordinate source index and fixed-point weights of INTER_LINEAR.
struct LinearTable {
  std::vector<int> i0, i1;
  std::vector<int> w0, w1;
};

LinearTable linear_table(int src, int dst) {
  LinearTable t;
  t.i0.resize(size_t(dst));
  t.i1.resize(size_t(dst));
  t.w0.resize(size_t(dst));
  t.w1.resize(size_t(dst));
  double scale = double(src) / double(dst);
  for (int d = 0; d < dst; ++d) {
    float f = float((d + 0.5) * scale - 0.5);
    int s = int(std::floor(f));
    f -= float(s);
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= src - 1) {
      f = 0;
      s = src - 1;
    }
    t.i0[size_t(d)] = s;
    t.i1[size_t(d)] = std::min(s + 1, src - 1);
    t.w0[size_t(d)] = int(std::lrint((1.f - f) * kCoefScale));
    t.w1[size_t(d)] = int(std::lrint(f * kCoefScale));
  }
  return t;
}

// cv2's INTER_NEAREST source index: floor(d * (1 / (dst / src))), clamped.
std::vector<int> nearest_table(int src, int dst) {
  std::vector<int> t(static_cast<size_t>(dst));
  double inv = double(dst) / double(src);
  double ifx = 1.0 / inv;
  for (int d = 0; d < dst; ++d) t[size_t(d)] = std::min(int(std::floor(d * ifx)), src - 1);
  return t;
}

// Round to nearest, ties to even (lrint in the default rounding mode) without a libm call: adding
// 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. Requires |v| < 2^22.
inline int round_even(float v) {
  float t = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  return bits - 0x4B400000;
}

uint8_t clip_u8_trunc(float v) {  // np.clip(v, 0, 255).astype(np.uint8)
  if (!(v > 0.f)) return 0;
  if (v >= 255.f) return 255;
  return uint8_t(v);
}

// The 256 results of clip_u8_trunc(float(v) * alpha + beta): a byte's value depends on the byte alone, so
// the image's samples are mapped through this table (the same arithmetic, done once per value).
std::array<uint8_t, 256> convert_table(float alpha, float beta) {
  std::array<uint8_t, 256> t{};
  for (int v = 0; v < 256; ++v) t[size_t(v)] = clip_u8_trunc(float(v) * alpha + beta);
  return t;
}

// img.astype(float32) * alpha + beta, clipped and truncated, on every sample of the image (every
// `step`-th sample from `first`).
void convert(Image& img, float alpha, float beta, size_t first = 0, size_t step = 1) {
  const std::array<uint8_t, 256> t = convert_table(alpha, beta);
  uint8_t* p = img.pixels.data();
  for (size_t i = first, n = img.pixels.size(); i < n; i += step) p[i] = t[p[i]];
}

// The window of a row-major label map `width` values wide.
std::vector<int32_t> crop_label(const std::vector<int32_t>& label, int width, const Window& win) {
  std::vector<int32_t> out(size_t(win.width) * size_t(win.height));
  for (int y = 0; y < win.height; ++y)
    std::copy_n(label.data() + size_t(win.y0 + y) * size_t(width) + size_t(win.x0), size_t(win.width),
                out.data() + size_t(y) * size_t(win.width));
  return out;
}

}  // namespace

Image resize_bilinear(const Image& src, int width, int height) {
  return resize_bilinear_window(src, width, height, {0, 0, width, height});
}

Image resize_bilinear_window(const Image& src, int width, int height, const Window& win) {
  MDP_CHECK(src.bit_depth == 8 && !src.empty(), "resize_bilinear: needs a non-empty 8-bit image, got {}",
            src.describe());
  MDP_CHECK(width >= 1 && height >= 1, "resize_bilinear: target size {}x{} must be positive", width, height);
  MDP_CHECK(win.x0 >= 0 && win.y0 >= 0 && win.width >= 1 && win.height >= 1 && win.x0 + win.width <= width &&
                win.y0 + win.height <= height,
            "resize_bilinear: window x={} y={} {}x{} does not fit in the {}x{} output", win.x0, win.y0, win.width,
            win.height, width, height);
  const int cn = src.channels;
  Image out(win.width, win.height, cn);
  if (width == src.width && height == src.height) {  // no resize: the window's pixels as they are
    for (int y = 0; y < win.height; ++y)
      std::copy_n(src.row(win.y0 + y) + size_t(win.x0) * size_t(cn), size_t(win.width) * size_t(cn), out.row(y));
    return out;
  }
  LinearTable tx = linear_table(src.width, width), ty = linear_table(src.height, height);

  // Horizontal pass of source rows into int buffers (values scaled by 2^11), the window's columns only;
  // two rows cached.
  std::vector<int> rows[2] = {std::vector<int>(size_t(win.width) * size_t(cn)),
                              std::vector<int>(size_t(win.width) * size_t(cn))};
  int cached[2] = {-1, -1};
  auto hpass = [&](int sy, std::vector<int>& buf) {
    const uint8_t* s = src.row(sy);
    for (int k = 0; k < win.width; ++k) {
      const size_t dx = size_t(win.x0 + k);
      const uint8_t* a = s + size_t(tx.i0[dx]) * size_t(cn);
      const uint8_t* b = s + size_t(tx.i1[dx]) * size_t(cn);
      int w0 = tx.w0[dx], w1 = tx.w1[dx];
      int* d = buf.data() + size_t(k) * size_t(cn);
      for (int c = 0; c < cn; ++c) d[c] = int(a[c]) * w0 + int(b[c]) * w1;
    }
  };
  auto row_for = [&](int sy) -> const std::vector<int>& {
    for (int k = 0; k < 2; ++k)
      if (cached[k] == sy) return rows[k];
    int k = (cached[0] == -1 || (cached[1] != -1 && cached[0] < cached[1])) ? 0 : 1;  // evict the older row
    hpass(sy, rows[k]);
    cached[k] = sy;
    return rows[k];
  };

  const size_t n = size_t(win.width) * size_t(cn);
  // int32 is enough: rows hold at most 255 * 2049, times weights summing to at most 2049, plus 2^21.
  constexpr int32_t kRound = int32_t(1) << (2 * kCoefBits - 1);
  for (int y = 0; y < win.height; ++y) {
    const size_t dy = size_t(win.y0 + y);
    const int32_t* r0 = row_for(ty.i0[dy]).data();
    const int32_t* r1 = row_for(ty.i1[dy]).data();
    const int32_t b0 = ty.w0[dy], b1 = ty.w1[dy];
    uint8_t* d = out.row(y);
    for (size_t k = 0; k < n; ++k) {
      int32_t v = (b0 * r0[k] + b1 * r1[k] + kRound) >> (2 * kCoefBits);
      d[k] = uint8_t(std::clamp(v, 0, 255));
    }
  }
  return out;
}

std::vector<int32_t> resize_nearest(const std::vector<int32_t>& src, int src_w, int src_h, int width,
                                    int height) {
  MDP_CHECK(src_w >= 1 && src_h >= 1 && src.size() == size_t(src_w) * size_t(src_h),
            "resize_nearest: label of {} values is not {}x{}", src.size(), src_w, src_h);
  MDP_CHECK(width >= 1 && height >= 1, "resize_nearest: target size {}x{} must be positive", width, height);
  if (width == src_w && height == src_h) return src;
  std::vector<int> tx = nearest_table(src_w, width), ty = nearest_table(src_h, height);
  std::vector<int32_t> out(size_t(width) * size_t(height));
  for (int y = 0; y < height; ++y) {
    const int32_t* s = src.data() + size_t(ty[size_t(y)]) * size_t(src_w);
    int32_t* d = out.data() + size_t(y) * size_t(width);
    for (int x = 0; x < width; ++x) d[x] = s[tx[size_t(x)]];
  }
  return out;
}

std::pair<int, int> rescale_size(int w, int h, int scale_w, int scale_h) {
  MDP_CHECK(w > 0 && h > 0 && scale_w > 0 && scale_h > 0, "rescale_size: sizes {}x{} and scale {}x{} must be positive",
            w, h, scale_w, scale_h);
  double long_edge = std::max(scale_w, scale_h), short_edge = std::min(scale_w, scale_h);
  double f = std::min(long_edge / std::max(w, h), short_edge / std::min(w, h));
  return {int(w * f + 0.5), int(h * f + 0.5)};
}

void resize_sample(Sample& s, int width, int height) {
  if (s.labeled()) s.label = resize_nearest(s.label, s.width, s.height, width, height);
  s.image = resize_bilinear(s.image, width, height);
  s.width = width;
  s.height = height;
}

void crop_sample(Sample& s, int x0, int y0, int w, int h) {
  MDP_CHECK(x0 >= 0 && y0 >= 0 && w >= 1 && h >= 1 && x0 + w <= s.width && y0 + h <= s.height,
            "crop: window x={} y={} {}x{} does not fit in the {}x{} sample {}", x0, y0, w, h, s.width, s.height,
            s.image_path);
  if (x0 == 0 && y0 == 0 && w == s.width && h == s.height) return;
  const int cn = s.image.channels;
  Image img(w, h, cn);
  for (int y = 0; y < h; ++y)
    std::copy_n(s.image.row(y0 + y) + size_t(x0) * size_t(cn), size_t(w) * size_t(cn), img.row(y));
  if (s.labeled()) s.label = crop_label(s.label, s.width, {x0, y0, w, h});
  s.image = std::move(img);
  s.width = w;
  s.height = h;
}

void flip_horizontal(Sample& s) {
  const int cn = s.image.channels, w = s.width;
  for (int y = 0; y < s.height; ++y) {
    uint8_t* r = s.image.row(y);
    for (int x = 0; x < w / 2; ++x)
      std::swap_ranges(r + size_t(x) * size_t(cn), r + size_t(x + 1) * size_t(cn), r + size_t(w - 1 - x) * size_t(cn));
    if (s.labeled()) {
      int32_t* l = s.label.data() + size_t(y) * size_t(w);
      std::reverse(l, l + w);
    }
  }
}

std::pair<int, int> random_resize_size(int width, int height, const RandomResizeArgs& a, Generator& gen) {
  MDP_CHECK(a.ratio_min <= a.ratio_max && a.ratio_min > 0, "random_resize: ratio range [{}, {}] is invalid",
            a.ratio_min, a.ratio_max);
  double ratio = gen.uniform() * (a.ratio_max - a.ratio_min) + a.ratio_min;
  int sw = int(a.scale_w * ratio), sh = int(a.scale_h * ratio);
  MDP_CHECK(sw > 0 && sh > 0, "random_resize: scale {}x{} times ratio {} is empty", a.scale_w, a.scale_h, ratio);
  auto [w, h] = a.keep_ratio ? rescale_size(width, height, sw, sh) : std::pair<int, int>{sw, sh};
  return {std::max(w, 1), std::max(h, 1)};
}

void random_resize(Sample& s, const RandomResizeArgs& a, Generator& gen) {
  auto [w, h] = random_resize_size(s.width, s.height, a, gen);
  resize_sample(s, w, h);
}

void random_crop(Sample& s, const RandomCropArgs& a, Generator& gen) {
  Window w = random_crop_window(s.label, s.width, s.height, s.ignore_index, a, gen);
  crop_sample(s, w.x0, w.y0, w.width, w.height);
}

Window random_crop_window(const std::vector<int32_t>& label, int width, int height, int32_t ignore_index,
                          const RandomCropArgs& a, Generator& gen) {
  MDP_CHECK(a.width >= 1 && a.height >= 1, "random_crop: crop size {}x{} must be positive", a.width, a.height);
  const int cw = std::min(a.width, width), ch = std::min(a.height, height);
  auto draw = [&]() {
    int margin_h = std::max(height - a.height, 0), margin_w = std::max(width - a.width, 0);
    int y = int(gen.randint(0, margin_h + 1));
    int x = int(gen.randint(0, margin_w + 1));
    return std::pair<int, int>{x, y};
  };
  auto [x0, y0] = draw();
  if (a.cat_max_ratio < 1.0 && !label.empty()) {
    std::vector<int64_t> counts;
    for (int attempt = 0; attempt < 10; ++attempt) {
      counts.assign(counts.size(), 0);
      int64_t total = 0;
      for (int y = y0; y < y0 + ch; ++y) {
        const int32_t* l = label.data() + size_t(y) * size_t(width);
        for (int x = x0; x < x0 + cw; ++x) {
          int32_t v = l[x];
          if (v == ignore_index || v < 0) continue;
          if (size_t(v) >= counts.size()) counts.resize(size_t(v) + 1, 0);
          ++counts[size_t(v)];
          ++total;
        }
      }
      int distinct = 0;
      int64_t most = 0;
      for (int64_t c : counts) {
        distinct += c > 0;
        most = std::max(most, c);
      }
      if (distinct > 1 && double(most) / double(total) < a.cat_max_ratio) break;
      std::tie(x0, y0) = draw();
    }
  }
  return {x0, y0, cw, ch};
}

void random_flip(Sample& s, double prob, Generator& gen) {
  if (gen.uniform() < prob) flip_horizontal(s);
}

void rgb_to_hsv(Image& img) {
  MDP_CHECK(img.channels == 3 && img.bit_depth == 8, "rgb_to_hsv: needs 8-bit RGB, got {}", img.describe());
  // cv2 RGB2HSV_b: 12-bit fixed-point division tables.
  constexpr int shift = 12;
  static const auto tables = [] {
    std::array<std::array<int, 256>, 2> t{};  // [0] sdiv, [1] hdiv for hrange 180
    for (int i = 1; i < 256; ++i) {
      t[0][size_t(i)] = int(std::lrint((255 << shift) / (1. * i)));
      t[1][size_t(i)] = int(std::lrint((180 << shift) / (6. * i)));
    }
    return t;
  }();
  const size_t n = size_t(img.width) * size_t(img.height);
  uint8_t* p = img.pixels.data();
  for (size_t i = 0; i < n; ++i, p += 3) {
    int r = p[0], g = p[1], b = p[2];
    int v = std::max({r, g, b}), vmin = std::min({r, g, b});
    int diff = v - vmin;
    int vr = v == r ? -1 : 0, vg = v == g ? -1 : 0;
    int s = (diff * tables[0][size_t(v)] + (1 << (shift - 1))) >> shift;
    int h = (vr & (g - b)) + (~vr & ((vg & (b - r + 2 * diff)) + ((~vg) & (r - g + 4 * diff))));
    h = (h * tables[1][size_t(diff)] + (1 << (shift - 1))) >> shift;
    h += h < 0 ? 180 : 0;
    p[0] = uint8_t(h);
    p[1] = uint8_t(s);
    p[2] = uint8_t(v);
  }
}

void hsv_to_rgb(Image& img) {
  MDP_CHECK(img.channels == 3 && img.bit_depth == 8, "hsv_to_rgb: needs 8-bit HSV, got {}", img.describe());
  // cv2 HSV2RGB_b: through float, h scaled by 6/180, then rounded (saturate_cast) back to 8 bits.
  static const int sector_data[6][3] = {{1, 3, 0}, {1, 0, 2}, {3, 0, 1}, {0, 2, 1}, {0, 1, 3}, {2, 1, 0}};
  // The sector and the fraction within it of each possible H byte, computed once as cv2 computes them
  // per pixel (h * 6/180, wrapped into [0, 6), floor).
  struct Hue {
    int sector;
    float fraction;
  };
  static const auto hues = [] {
    std::array<Hue, 256> t{};
    for (int byte = 0; byte < 256; ++byte) {
      float h = float(byte) * (6.f / 180.f);
      while (h >= 6) h -= 6;
      int sector = int(std::floor(h));
      h -= float(sector);
      if (unsigned(sector) >= 6u) {
        sector = 0;
        h = 0.f;
      }
      t[size_t(byte)] = {sector, h};
    }
    return t;
  }();
  const size_t n = size_t(img.width) * size_t(img.height);
  uint8_t* p = img.pixels.data();
  for (size_t i = 0; i < n; ++i, p += 3) {
    float s = p[1] * (1.f / 255.f), v = p[2] * (1.f / 255.f);
    float r, g, b;
    if (s == 0.f) {
      r = g = b = v;
    } else {
      const Hue hue = hues[p[0]];
      const int sector = hue.sector;
      const float h = hue.fraction;
      float tab[4] = {v, v * (1.f - s), v * (1.f - s * h), v * (1.f - s * (1.f - h))};
      b = tab[sector_data[sector][0]];
      g = tab[sector_data[sector][1]];
      r = tab[sector_data[sector][2]];
    }
    auto to8 = [](float x) { return uint8_t(std::clamp(round_even(x * 255.f), 0, 255)); };
    p[0] = to8(r);
    p[1] = to8(g);
    p[2] = to8(b);
  }
}

void photo_metric_distortion(Image& img, const PhotoMetricArgs& a, Generator& gen) {
  MDP_CHECK(img.channels == 3 && img.bit_depth == 8, "photo_metric_distortion: needs 8-bit RGB, got {}",
            img.describe());
  auto coin = [&] { return gen.randint(0, 2) == 1; };  // numpy random.randint(2)
  auto contrast = [&] {
    if (coin()) convert(img, float(gen.uniform(a.contrast_lo, a.contrast_hi)), 0.f);
  };
  if (coin()) convert(img, 1.f, float(gen.uniform(-a.brightness_delta, a.brightness_delta)));
  int mode = int(gen.randint(0, 2));
  if (mode == 1) contrast();
  if (coin()) {  // saturation
    float alpha = float(gen.uniform(a.saturation_lo, a.saturation_hi));
    rgb_to_hsv(img);
    convert(img, alpha, 0.f, 1, 3);  // the S channel
    hsv_to_rgb(img);
  }
  if (coin()) {  // hue
    int delta = int(gen.randint(-a.hue_delta, a.hue_delta));
    rgb_to_hsv(img);
    for (size_t i = 0; i < img.pixels.size(); i += 3) img.pixels[i] = uint8_t(((img.pixels[i] + delta) % 180 + 180) % 180);
    hsv_to_rgb(img);
  }
  if (mode == 0) contrast();
}

PreparedSample normalize(Sample&& s, const NormalizeArgs& a) {
  MDP_CHECK(s.image.channels == 3 && s.image.bit_depth == 8, "normalize: {}: needs 8-bit RGB, got {}", s.image_path,
            s.image.describe());
  PreparedSample p;
  p.width = s.width;
  p.height = s.height;
  const size_t plane = size_t(s.width) * size_t(s.height);
  p.image.resize(3 * plane);
  for (int c = 0; c < 3; ++c) {
    float scale = 1.f / a.std[size_t(c)], mean = a.mean[size_t(c)];
    float* d = p.image.data() + size_t(c) * plane;
    const uint8_t* src = s.image.pixels.data() + c;
    for (size_t i = 0; i < plane; ++i) d[i] = (float(src[3 * i]) - mean) * scale;
  }
  p.label = std::move(s.label);
  p.label_width = p.label.empty() ? 0 : s.width;
  p.label_height = p.label.empty() ? 0 : s.height;
  p.dataset_id = s.dataset_id;
  p.ignore_index = s.ignore_index;
  p.image_path = std::move(s.image_path);
  p.label_path = std::move(s.label_path);
  return p;
}

void pad(PreparedSample& p, int width, int height) {
  MDP_CHECK(p.width <= width && p.height <= height, "pad: {}: sample {}x{} is larger than the pad size {}x{}",
            p.image_path, p.width, p.height, width, height);
  if (p.width == width && p.height == height) return;
  const size_t plane = size_t(width) * size_t(height), old_plane = size_t(p.width) * size_t(p.height);
  std::vector<float> img(3 * plane, 0.f);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < p.height; ++y)
      std::copy_n(p.image.data() + size_t(c) * old_plane + size_t(y) * size_t(p.width), size_t(p.width),
                  img.data() + size_t(c) * plane + size_t(y) * size_t(width));
  p.image = std::move(img);
  if (!p.label.empty() && p.label_width == p.width && p.label_height == p.height) {
    std::vector<int32_t> lab(plane, p.ignore_index);
    for (int y = 0; y < p.height; ++y)
      std::copy_n(p.label.data() + size_t(y) * size_t(p.width), size_t(p.width), lab.data() + size_t(y) * size_t(width));
    p.label = std::move(lab);
    p.label_width = width;
    p.label_height = height;
  }
  p.width = width;
  p.height = height;
}

PreparedSample apply_pipeline(Sample s, const PipelineOptions& o, Generator& gen) {
  std::vector<int32_t> kept_label;  // the original label, when a test-time resize leaves it alone
  int kept_w = 0, kept_h = 0;
  if (o.resize) {
    const auto& r = *o.resize;
    auto [w, h] = r.keep_ratio ? rescale_size(s.width, s.height, r.scale_w, r.scale_h)
                               : std::pair<int, int>{r.scale_w, r.scale_h};
    if (!r.resize_label && s.labeled()) {
      kept_label = std::move(s.label);
      s.label.clear();
      kept_w = s.width;
      kept_h = s.height;
    }
    resize_sample(s, w, h);
  }
  if (o.random_resize && o.crop) {
    // RandomResize then RandomCrop, with the image resized inside the crop window only: the window is
    // chosen on the resized label, and a bilinear output pixel depends on its coordinates alone, so the
    // result is the same as resizing the whole image and cropping it (the image is up to 2x the
    // scale; the crop a fraction of it).
    auto [w, h] = random_resize_size(s.width, s.height, *o.random_resize, gen);
    if (s.labeled()) s.label = resize_nearest(s.label, s.width, s.height, w, h);
    Window win = random_crop_window(s.label, w, h, s.ignore_index, *o.crop, gen);
    s.image = resize_bilinear_window(s.image, w, h, win);
    if (s.labeled()) s.label = crop_label(s.label, w, win);
    s.width = win.width;
    s.height = win.height;
  } else {
    if (o.random_resize) random_resize(s, *o.random_resize, gen);
    if (o.crop) random_crop(s, *o.crop, gen);
  }
  if (o.flip_prob > 0) random_flip(s, o.flip_prob, gen);
  if (o.photometric) photo_metric_distortion(s.image, *o.photometric, gen);
  PreparedSample p = normalize(std::move(s), o.normalize);
  if (!kept_label.empty()) {
    p.label = std::move(kept_label);
    p.label_width = kept_w;
    p.label_height = kept_h;
  }
  if (o.pad_to) pad(p, o.pad_to->first, o.pad_to->second);
  return p;
}

PipelineOptions train_pipeline(int crop_w, int crop_h, int scale_w, int scale_h) {
  PipelineOptions p;
  p.random_resize = RandomResizeArgs{scale_w, scale_h, 0.5, 2.0, true};
  p.crop = RandomCropArgs{crop_w, crop_h, 0.75};
  p.flip_prob = 0.5;
  p.photometric = PhotoMetricArgs{};
  p.pad_to = std::pair<int, int>{crop_w, crop_h};
  return p;
}

PipelineOptions test_pipeline(int scale_w, int scale_h) {
  PipelineOptions p;
  p.resize = PipelineOptions::TestResize{scale_w, scale_h, true, false};
  return p;
}

}  // namespace mdp::data
