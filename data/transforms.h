// transforms.h: the training and test augmentations with MMSegmentation 1.x semantics, on one Sample at
// a time: RandomResize, RandomCrop (cat_max_ratio), RandomFlip, PhotoMetricDistortion, Normalize, Pad
// and the test-time Resize, plus the resize primitives they use. Every random choice comes from the
// Generator passed in, so a sample's augmentation is reproducible from its generator's seed. Not a
// general image library: 8-bit images, int32 label maps, horizontal flips only, no rotation or cutout.
//
// Resizing is written here (no OpenCV) and follows cv2.resize as mmcv calls it:
//  - images, bilinear (INTER_LINEAR): half-pixel centres, src = (dst + 0.5) * src_size / dst_size - 0.5,
//    clamped to the border; weights rounded to 11-bit fixed point as cv2 does, the two passes summed in
//    integers and rounded once. cv2's SIMD vertical pass rounds in two steps, so its pixels can differ
//    from ours by 1; and like cv2 there is no antialiasing when shrinking.
//  - label maps, nearest (INTER_NEAREST): src = floor(dst * src_size / dst_size), clamped; not the
//    half-pixel INTER_NEAREST_EXACT.
// The ignore value of a label map is the Sample's ignore_index (255, or -1 in a label space of more
// than 255 classes, label_space.h); crop and pad use it, never a literal 255.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataset.h"

namespace mdp {
class Generator;
}

namespace mdp::data {

// ---- primitives ----------------------------------------------------------------------------------

// A rectangle [x0, x0 + width) x [y0, y0 + height) of an image or label map.
struct Window {
  int x0 = 0, y0 = 0, width = 0, height = 0;
};

// Bilinear resize of an 8-bit image with any channel count to width x height (both >= 1).
Image resize_bilinear(const Image& src, int width, int height);
// The window `win` of resize_bilinear(src, width, height), computed alone (bit-identical to cropping the
// whole resize; the cost is the window's).
Image resize_bilinear_window(const Image& src, int width, int height, const Window& win);
// Nearest resize of a (src_h, src_w) label map to (height, width).
std::vector<int32_t> resize_nearest(const std::vector<int32_t>& src, int src_w, int src_h, int width, int height);
// mmcv.rescale_size: (w, h) scaled by min(long(scale) / long(w, h), short(scale) / short(w, h)), each side
// rounded as int(x * f + 0.5). The size keep-ratio resizing gives.
std::pair<int, int> rescale_size(int w, int h, int scale_w, int scale_h);

// Resizes image (bilinear) and label (nearest, when labeled) to width x height.
void resize_sample(Sample& s, int width, int height);
// Keeps the region [x0, x0 + w) x [y0, y0 + h), which must lie inside the sample.
void crop_sample(Sample& s, int x0, int y0, int w, int h);
// Mirrors image and label left-right.
void flip_horizontal(Sample& s);

// ---- random augmentations (MMSegmentation's defaults) ---------------------------------------------

// RandomResize(scale, ratio_range, keep_ratio): ratio ~ U[ratio_min, ratio_max), target scale
// (int(scale_w * ratio), int(scale_h * ratio)); keep_ratio rescales to fit it (rescale_size), otherwise
// resizes to exactly that size.
struct RandomResizeArgs {
  int scale_w = 2048, scale_h = 512;
  double ratio_min = 0.5, ratio_max = 2.0;
  bool keep_ratio = true;
};
void random_resize(Sample& s, const RandomResizeArgs& a, Generator& gen);
// The size random_resize gives a width x height sample (the same draw from gen).
std::pair<int, int> random_resize_size(int width, int height, const RandomResizeArgs& a, Generator& gen);

// RandomCrop(crop_size, cat_max_ratio): a uniformly placed width x height window (the whole side where
// the sample is smaller). With cat_max_ratio < 1, up to 10 re-draws while the window holds fewer than two
// non-ignore classes or one class covers cat_max_ratio or more of its non-ignore pixels; then the last
// draw is kept (MMSegmentation: 10 tries of the check, 11 draws at most).
struct RandomCropArgs {
  int width = 512, height = 512;
  double cat_max_ratio = 1.0;
};
void random_crop(Sample& s, const RandomCropArgs& a, Generator& gen);
// The window random_crop keeps of a width x height sample with this label map (empty: unlabeled), with
// the same draws from gen.
Window random_crop_window(const std::vector<int32_t>& label, int width, int height, int32_t ignore_index,
                          const RandomCropArgs& a, Generator& gen);

// RandomFlip(prob): horizontal flip of image and label together with probability prob.
void random_flip(Sample& s, double prob, Generator& gen);

// PhotoMetricDistortion, in MMSegmentation's order: brightness (+U[-delta, delta]); a coin mode; if mode
// 1 contrast (x U[lo, hi]); saturation (S x U[lo, hi] in cv2's 8-bit HSV); hue (H + randint[-delta,
// delta) mod 180); if mode 0 contrast. Each step happens with probability 0.5; every step clips to
// 0..255 and truncates to 8 bits as numpy's astype(uint8). RGB in, RGB out (MMSegmentation works on BGR
// with BGR<->HSV, which is the same arithmetic).
struct PhotoMetricArgs {
  int brightness_delta = 32;
  double contrast_lo = 0.5, contrast_hi = 1.5;
  double saturation_lo = 0.5, saturation_hi = 1.5;
  int hue_delta = 18;
};
void photo_metric_distortion(Image& rgb, const PhotoMetricArgs& a, Generator& gen);

// cv2's 8-bit RGB <-> HSV (H in 0..179, S and V in 0..255), used by the distortion.
void rgb_to_hsv(Image& img);
void hsv_to_rgb(Image& img);

// ---- to network input ------------------------------------------------------------------------------

// A sample ready for collation: normalized float image and its label. The label has the image's size,
// except after a test-time resize that keeps the original label (label_width/label_height say).
struct PreparedSample {
  std::vector<float> image;     // (3, H, W), (x - mean) / std per RGB channel
  std::vector<int32_t> label;   // (label_height * label_width), empty when unlabeled
  int width = 0, height = 0;
  int label_width = 0, label_height = 0;
  int dataset_id = 0;
  int32_t ignore_index = kIgnore;
  std::string image_path, label_path;
};

// Normalize(mean, std) on RGB (ImageNet's, in 0..255 units, by default) into float CHW.
struct NormalizeArgs {
  std::array<float, 3> mean{123.675f, 116.28f, 103.53f};
  std::array<float, 3> std{58.395f, 57.12f, 57.375f};
};
PreparedSample normalize(Sample&& s, const NormalizeArgs& a);

// Pad(size): pads bottom and right to width x height (image 0 after normalization, as MMSegmentation's
// data preprocessor does; label ignore_index, when it has the image's size). Requires the sample to be
// no larger.
void pad(PreparedSample& p, int width, int height);

// ---- pipelines ---------------------------------------------------------------------------------------

// The steps in MMSegmentation's order: resize (test-time, keep ratio) or random_resize, random_crop,
// flip, photometric, normalize, pad. Absent steps are skipped.
struct PipelineOptions {
  std::optional<RandomResizeArgs> random_resize;
  // Test-time Resize(scale, keep_ratio=True): image resized to fit (scale_w, scale_h); the label too only
  // when resize_label (MMSegmentation evaluates on the original label).
  struct TestResize {
    int scale_w = 2048, scale_h = 512;
    bool keep_ratio = true, resize_label = false;
  };
  std::optional<TestResize> resize;
  std::optional<RandomCropArgs> crop;
  double flip_prob = 0;
  std::optional<PhotoMetricArgs> photometric;
  NormalizeArgs normalize;
  std::optional<std::pair<int, int>> pad_to;  // (width, height)
};
PreparedSample apply_pipeline(Sample sample, const PipelineOptions& p, Generator& gen);

// MMSegmentation's standard ADE20K/Cityscapes training pipeline: RandomResize(scale, (0.5, 2.0), keep
// ratio), RandomCrop(crop, cat_max_ratio 0.75), RandomFlip(0.5), PhotoMetricDistortion, Normalize,
// Pad(crop).
PipelineOptions train_pipeline(int crop_w = 512, int crop_h = 512, int scale_w = 2048, int scale_h = 512);
// The test pipeline: Resize(scale, keep_ratio) of the image only, Normalize.
PipelineOptions test_pipeline(int scale_w = 2048, int scale_h = 512);

}  // namespace mdp::data
