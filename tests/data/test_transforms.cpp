// test_transforms.cpp: the augmentations: resize arithmetic against hand-computed cv2 values, crop
// geometry, cat_max_ratio, flip keeping image and label together, pad values (255 and -1 ignore),
// photometric distortion and HSV, normalize, and the whole pipeline's determinism on a real sample.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "data/transforms.h"
#include "data/voc.h"
#include "data_helpers.h"
#include "tensor/random.h"

using namespace mdp::data;
using namespace mdp::data::test;
using mdp::Generator;

namespace {

// A w x h sample whose label at (x, y) is y * 1000 + x and whose image holds (x, y, x + y) mod 256, so
// any crop or flip can be checked against where each pixel came from.
Sample coordinate_sample(int w, int h) {
  Sample s;
  s.width = w;
  s.height = h;
  s.image = Image(w, h, 3);
  s.label.resize(size_t(w) * size_t(h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      s.image.set_sample(y, x, 0, x % 256);
      s.image.set_sample(y, x, 1, y % 256);
      s.image.set_sample(y, x, 2, (x + y) % 256);
      s.label[size_t(y) * size_t(w) + size_t(x)] = y * 1000 + x;
    }
  return s;
}

// True when every pixel of s is the coordinate-sample pixel (x0 + x, y0 + y), or (x0 + w-1-x, ...) when
// mirrored: image and label moved together.
bool is_window(const Sample& s, int x0, int y0, bool mirrored) {
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      int sx = x0 + (mirrored ? s.width - 1 - x : x), sy = y0 + y;
      if (s.label[size_t(y) * size_t(s.width) + size_t(x)] != sy * 1000 + sx) return false;
      if (s.image.sample(y, x, 0) != sx % 256 || s.image.sample(y, x, 1) != sy % 256) return false;
    }
  return true;
}

Image row_image(std::vector<uint8_t> values) {
  Image img(int(values.size()), 1, 1);
  img.pixels = std::move(values);
  return img;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transforms)

BOOST_AUTO_TEST_CASE(bilinear_resize_matches_cv2_arithmetic) {
  // Upscale 2 -> 4: centres at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped): 0, 63.75, 191.25, 255.
  Image up = resize_bilinear(row_image({0, 255}), 4, 1);
  BOOST_TEST((up.pixels == std::vector<uint8_t>{0, 64, 191, 255}));
  // Downscale 4 -> 2: centres 0.5 and 2.5, no antialiasing: (0+100)/2, (200+255)/2 rounded.
  Image down = resize_bilinear(row_image({0, 100, 200, 255}), 2, 1);
  BOOST_TEST((down.pixels == std::vector<uint8_t>{50, 228}));
  // Vertical works the same way, per channel; a constant image stays constant.
  Image col(1, 2, 3);
  col.pixels = {0, 10, 20, 255, 110, 220};
  Image tall = resize_bilinear(col, 1, 4);
  BOOST_TEST((tall.pixels == std::vector<uint8_t>{0, 10, 20, 64, 35, 70, 191, 85, 170, 255, 110, 220}));
  Image flat(7, 5, 3);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 77);
  Image r = resize_bilinear(flat, 13, 3);
  BOOST_TEST(r.width == 13);
  BOOST_TEST(r.height == 3);
  for (uint8_t v : r.pixels) BOOST_TEST(v == 77);
  // Same size: a copy.
  BOOST_TEST((resize_bilinear(flat, 7, 5).pixels == flat.pixels));
  BOOST_CHECK_THROW(resize_bilinear(flat, 0, 5), mdp::Error);
}

BOOST_AUTO_TEST_CASE(nearest_resize_and_rescale_size) {
  std::vector<int32_t> src = {1, 2, 3, 4};  // 4x1
  BOOST_TEST((resize_nearest(src, 4, 1, 2, 1) == std::vector<int32_t>{1, 3}));         // floor(d * 2)
  BOOST_TEST((resize_nearest(src, 4, 1, 8, 1) == std::vector<int32_t>{1, 1, 2, 2, 3, 3, 4, 4}));
  BOOST_TEST((resize_nearest(src, 2, 2, 1, 1) == std::vector<int32_t>{1}));
  // mmcv.rescale_size on VOC-like sizes with scale (2048, 512): the short side becomes 512.
  BOOST_TEST((rescale_size(500, 375, 2048, 512) == std::pair<int, int>{683, 512}));
  BOOST_TEST((rescale_size(500, 338, 2048, 512) == std::pair<int, int>{757, 512}));
  // ... unless the long side would pass 2048.
  BOOST_TEST((rescale_size(2000, 400, 2048, 512) == std::pair<int, int>{2048, 410}));
  BOOST_TEST((rescale_size(256, 128, 1024, 512) == std::pair<int, int>{1024, 512}));
}

BOOST_AUTO_TEST_CASE(crop_geometry) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator g(seed);
    Sample s = coordinate_sample(100, 80);
    random_crop(s, {64, 48, 1.0}, g);
    BOOST_TEST(s.width == 64);
    BOOST_TEST(s.height == 48);
    BOOST_TEST(s.label.size() == size_t(64 * 48));
    int x0 = s.label[0] % 1000, y0 = s.label[0] / 1000;
    BOOST_TEST(x0 <= 36);
    BOOST_TEST(y0 <= 32);
    BOOST_TEST(is_window(s, x0, y0, false));
  }
  // A sample smaller than the crop keeps its whole side (the pad step fills the rest).
  Generator g(1);
  Sample small = coordinate_sample(30, 90);
  random_crop(small, {64, 64, 1.0}, g);
  BOOST_TEST(small.width == 30);
  BOOST_TEST(small.height == 64);
  BOOST_TEST(is_window(small, 0, small.label[0] / 1000, false));
  // Explicit crops are checked.
  Sample s = coordinate_sample(10, 10);
  BOOST_CHECK_EXCEPTION(crop_sample(s, 5, 5, 6, 2), mdp::Error, mentions({"crop", "does not fit"}));
}

BOOST_AUTO_TEST_CASE(cat_max_ratio_rejects_one_class_crops) {
  // 200x100, class 1 in columns 80..119, class 0 elsewhere, one ignore column; 50x100 crops. A window
  // passes when class 1 has 13..37 of its 50 columns: 50 of the 151 positions.
  auto make = [] {
    Sample s;
    s.width = 200;
    s.height = 100;
    s.image = Image(200, 100, 3);
    s.label.assign(200 * 100, 0);
    for (int y = 0; y < 100; ++y) {
      for (int x = 80; x < 120; ++x) s.label[size_t(y) * 200 + size_t(x)] = 1;
      s.label[size_t(y) * 200 + 199] = 255;
    }
    return s;
  };
  auto passes = [](const Sample& s) {
    int64_t ones = 0, zeros = 0;
    for (int32_t v : s.label) ones += v == 1, zeros += v == 0;
    return ones > 0 && zeros > 0 && double(std::max(ones, zeros)) / double(ones + zeros) < 0.75;
  };
  int with = 0, without = 0;
  const int runs = 200;
  for (int seed = 0; seed < runs; ++seed) {
    Generator g1{uint64_t(seed)}, g2{uint64_t(seed)};
    Sample a = make(), b = make();
    random_crop(a, {50, 100, 0.75}, g1);
    random_crop(b, {50, 100, 1.0}, g2);
    with += passes(a);
    without += passes(b);
  }
  BOOST_TEST_MESSAGE("crops passing the ratio: " << with << " with cat_max_ratio, " << without << " without");
  BOOST_TEST(with >= runs * 95 / 100);  // 11 draws: all failing has probability (101/151)^11 ~ 1.2%
  BOOST_TEST(without <= runs / 2);      // about a third

  // With -1 as ignore (a large label space) the ignore pixels are not counted either.
  Sample s = make();
  for (auto& v : s.label) v = v == 255 ? -1 : v;
  s.ignore_index = -1;
  Generator g(3);
  random_crop(s, {50, 100, 0.75}, g);
  BOOST_TEST(s.width == 50);
}

BOOST_AUTO_TEST_CASE(flip_moves_image_and_label_together) {
  Sample s = coordinate_sample(9, 4);
  flip_horizontal(s);
  BOOST_TEST(is_window(s, 0, 0, true));
  int flipped = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Generator g(seed);
    Sample t = coordinate_sample(9, 4);
    random_flip(t, 0.5, g);
    bool mirrored = t.label[0] % 1000 == 8;
    flipped += mirrored;
    BOOST_TEST(is_window(t, 0, 0, mirrored));
  }
  BOOST_TEST(flipped > 30);
  BOOST_TEST(flipped < 70);
  Generator g(0);
  Sample never = coordinate_sample(9, 4);
  random_flip(never, 0.0, g);
  BOOST_TEST(is_window(never, 0, 0, false));
}

BOOST_AUTO_TEST_CASE(pad_values) {
  for (int32_t ignore : {255, -1}) {
    BOOST_TEST_CONTEXT("ignore " << ignore) {
      Sample s = coordinate_sample(3, 2);
      s.ignore_index = ignore;
      PreparedSample p = normalize(std::move(s), NormalizeArgs{});
      float first = p.image[0];
      pad(p, 5, 4);
      BOOST_TEST(p.width == 5);
      BOOST_TEST(p.height == 4);
      BOOST_TEST(p.image.size() == 3u * 20u);
      BOOST_TEST(p.label.size() == 20u);
      BOOST_TEST(p.image[0] == first);
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 4; ++y)
          for (int x = 0; x < 5; ++x) {
            bool inside = x < 3 && y < 2;
            float v = p.image[size_t(c) * 20 + size_t(y) * 5 + size_t(x)];
            int32_t l = p.label[size_t(y) * 5 + size_t(x)];
            if (!inside) {
              BOOST_TEST(v == 0.f);
              BOOST_TEST(l == ignore);
            } else {
              BOOST_TEST(l == y * 1000 + x);
            }
          }
      BOOST_CHECK_EXCEPTION(pad(p, 4, 4), mdp::Error, mentions({"pad", "larger than the pad size 4x4"}));
    }
  }
}

BOOST_AUTO_TEST_CASE(normalize_and_hsv) {
  Sample s;
  s.width = 2;
  s.height = 1;
  s.image = Image(2, 1, 3);
  s.image.pixels = {255, 0, 0, 128, 128, 128};
  PreparedSample p = normalize(Sample(s), NormalizeArgs{});
  BOOST_TEST(p.image.size() == 6u);
  BOOST_TEST(std::abs(p.image[0] - (255 - 123.675f) / 58.395f) < 1e-5f);  // R of pixel 0
  BOOST_TEST(std::abs(p.image[5] - (128 - 103.53f) / 57.375f) < 1e-5f);   // B of pixel 1 (CHW)

  // cv2's 8-bit HSV: H in 0..179.
  Image img(5, 1, 3);
  img.pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128, 255, 255, 0};
  Image hsv = img;
  rgb_to_hsv(hsv);
  BOOST_TEST((hsv.pixels == std::vector<uint8_t>{0, 255, 255, 60, 255, 255, 120, 255, 255, 0, 0, 128, 30, 255, 255}));
  hsv_to_rgb(hsv);
  BOOST_TEST((hsv.pixels == img.pixels));
  // A round trip of arbitrary colours stays within a few levels (8-bit HSV quantizes hue to 2 degrees).
  Generator g(5);
  Image any(64, 64, 3);
  for (auto& v : any.pixels) v = uint8_t(g.randint(0, 256));
  Image back = any;
  rgb_to_hsv(back);
  hsv_to_rgb(back);
  int worst = 0;
  for (size_t i = 0; i < any.pixels.size(); ++i) worst = std::max(worst, std::abs(int(any.pixels[i]) - int(back.pixels[i])));
  BOOST_TEST(worst <= 6);
}

BOOST_AUTO_TEST_CASE(photometric_distortion_is_seeded_and_bounded) {
  Sample s = open_voc({sample("VOCdevkit/VOC2012"), "train"})->get(0);
  Image a = s.image, b = s.image, c = s.image;
  Generator g1(11), g2(11), g3(12);
  photo_metric_distortion(a, PhotoMetricArgs{}, g1);
  photo_metric_distortion(b, PhotoMetricArgs{}, g2);
  photo_metric_distortion(c, PhotoMetricArgs{}, g3);
  BOOST_TEST((a.pixels == b.pixels));
  BOOST_TEST((g1.state().s == g2.state().s));
  // Over many seeds the image changes most of the time (4 coin flips), and all steps get exercised.
  int changed = 0;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    Image t = s.image;
    Generator g(seed);
    photo_metric_distortion(t, PhotoMetricArgs{}, g);
    changed += t.pixels != s.image.pixels;
  }
  BOOST_TEST(changed >= 12);
  // Brightness only (the other steps neutral): every pixel moves by the same delta, clipped.
  PhotoMetricArgs only_brightness;
  only_brightness.contrast_lo = only_brightness.contrast_hi = 1.0;
  only_brightness.saturation_lo = only_brightness.saturation_hi = 1.0;
  only_brightness.hue_delta = 0;
  Image flat(4, 4, 3);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 100);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Image t = flat;
    Generator g(seed);
    photo_metric_distortion(t, only_brightness, g);
    for (uint8_t v : t.pixels) {
      BOOST_TEST(v == t.pixels[0]);
      BOOST_TEST(std::abs(int(v) - 100) <= 32);
    }
  }
}

BOOST_AUTO_TEST_CASE(pipeline_is_deterministic_and_shaped) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "train"});
  PipelineOptions train = train_pipeline(128, 96, 512, 256);
  PreparedSample a, b, c;
  {
    Generator g(42);
    a = apply_pipeline(voc->get(1), train, g);
  }
  {
    Generator g(42);
    b = apply_pipeline(voc->get(1), train, g);
  }
  {
    Generator g(43);
    c = apply_pipeline(voc->get(1), train, g);
  }
  BOOST_TEST(a.width == 128);
  BOOST_TEST(a.height == 96);
  BOOST_TEST(a.image.size() == 3u * 128u * 96u);
  BOOST_TEST(a.label.size() == 128u * 96u);
  BOOST_TEST((a.image == b.image));
  BOOST_TEST((a.label == b.label));
  BOOST_TEST((a.image != c.image));
  for (int32_t v : a.label) BOOST_TEST_REQUIRE((v == 255 || (v >= 0 && v < 21)));

  // Test-time resize: image to fit the scale, label kept at the original size.
  Sample s = voc->get(0);
  Generator g(0);
  PreparedSample t = apply_pipeline(s, test_pipeline(2048, 512), g);
  BOOST_TEST(t.width == 757);
  BOOST_TEST(t.height == 512);
  BOOST_TEST(t.label_width == 500);
  BOOST_TEST(t.label_height == 338);
  BOOST_TEST((t.label == s.label));
  // ... or resized with it on request.
  PipelineOptions both = test_pipeline(2048, 512);
  both.resize->resize_label = true;
  PreparedSample u = apply_pipeline(s, both, g);
  BOOST_TEST(u.label_width == 757);
  BOOST_TEST(u.label.size() == 757u * 512u);
}

BOOST_AUTO_TEST_CASE(resize_window_is_the_crop_of_the_whole_resize) {
  Sample s = coordinate_sample(37, 23);
  for (auto [w, h] : {std::pair<int, int>{80, 50}, {37, 23}, {20, 11}, {111, 23}})
    for (Window win : {Window{0, 0, w, h}, Window{3, 2, w / 2, h / 3}, Window{w - 5, h - 4, 5, 4}, Window{1, 1, 1, 1}}) {
      BOOST_TEST_CONTEXT(w << "x" << h << " window " << win.x0 << "," << win.y0 << " " << win.width << "x" << win.height) {
        Sample whole = s;
        resize_sample(whole, w, h);
        crop_sample(whole, win.x0, win.y0, win.width, win.height);
        Image part = resize_bilinear_window(s.image, w, h, win);
        BOOST_TEST((part.pixels == whole.image.pixels));
        BOOST_TEST(part.width == win.width);
        BOOST_TEST(part.height == win.height);
      }
    }
  BOOST_CHECK_THROW(resize_bilinear_window(s.image, 10, 10, {5, 5, 6, 1}), mdp::Error);
}

// apply_pipeline resizes the image inside the crop window only; the result equals the transforms applied
// one after another (resize the whole sample, crop, flip, distort, normalize, pad) with the same draws.
BOOST_AUTO_TEST_CASE(pipeline_equals_its_transforms_in_order) {
  auto voc = open_voc({sample("VOCdevkit/VOC2012"), "trainval"});
  for (auto [crop, scale] : {std::pair<int, int>{128, 512}, {512, 2048}, {600, 512}})
    for (uint64_t seed : {0u, 1u, 2u, 3u, 4u, 5u})
      for (int64_t i = 0; i < 2 * voc->size(); ++i) {  // each sample labeled, then unlabeled
        BOOST_TEST_CONTEXT("crop " << crop << " scale " << scale << " seed " << seed << " sample " << i) {
          PipelineOptions o = train_pipeline(crop, crop, scale, scale / 4);
          Generator g1(seed), g2(seed);
          Sample s = voc->get(i % voc->size());
          if (i >= voc->size()) s.label.clear();
          PreparedSample fused = apply_pipeline(s, o, g1);
          random_resize(s, *o.random_resize, g2);
          random_crop(s, *o.crop, g2);
          random_flip(s, o.flip_prob, g2);
          photo_metric_distortion(s.image, *o.photometric, g2);
          PreparedSample step = normalize(std::move(s), o.normalize);
          pad(step, crop, crop);
          BOOST_TEST((fused.image == step.image));
          BOOST_TEST((fused.label == step.label));
          BOOST_TEST(fused.width == step.width);
          BOOST_TEST(fused.height == step.height);
          BOOST_TEST(g1.randint(0, 1 << 30) == g2.randint(0, 1 << 30));  // the same number of draws
        }
      }
}

BOOST_AUTO_TEST_SUITE_END()
