// Suite mixing: the paper's region box geometry, and that every mixed pixel carries the image value and
// label of the pixel it came from; partners from another dataset; blended soft targets.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <set>

#include "mdp/mixing.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(mixing)

BOOST_AUTO_TEST_CASE(box_geometry) {
  Box b = region_box(100, 200, 0.75, 10.5, 20.2);  // sqrt(0.25) = 0.5: 100 x 50 from (10, 20)
  BOOST_TEST(b.x0 == 10);
  BOOST_TEST(b.y0 == 20);
  BOOST_TEST(b.x1 - b.x0 == 100);
  BOOST_TEST(b.y1 - b.y0 == 50);
  Box c = region_box(100, 200, 0.0, 150, 90);  // full size from (150, 90): clipped at the border
  BOOST_TEST(c.x1 == 200);
  BOOST_TEST(c.y1 == 100);
  Box e = region_box(10, 10, 1.0, 3, 3);  // lambda 1: empty
  BOOST_TEST(e.x1 == e.x0);
}

BOOST_AUTO_TEST_CASE(every_pixel_from_its_source) {
  const int64_t N = 6, H = 12, W = 16;
  Generator g(1);
  Tensor img = ops::rand({N, 3, H, W}, DType::Float32, &g);
  Tensor lab = ops::randint(0, 8, {N, H, W}, DType::Int64, &g);
  for (int64_t b = 0; b < N; ++b) ops::add(ops::select(lab, 0, b), 0.0);
  Tensor ids = ops::from_vector({0, 0, 0, 1, 1, 2}, {N}, DType::Int64);
  for (int trial = 0; trial < 20; ++trial) {
    MixedBatch m = mix_batch(img, lab, ids, {0.5, 0.5, false, 255}, g);
    int kinds = 0;
    for (int64_t b = 0; b < N; ++b) {
      const MixRecord& r = m.records[size_t(b)];
      if (r.kind == "none") {
        BOOST_TEST(ops::to_vector(ops::select(m.labels, 0, b)) == ops::to_vector(ops::select(lab, 0, b)));
        continue;
      }
      ++kinds;
      BOOST_TEST(ids.at({r.partner}) != ids.at({b}), "partner from another dataset");
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          bool pasted = r.kind == "region" ? (x >= r.box.x0 && x < r.box.x1 && y >= r.box.y0 && y < r.box.y1)
                                           : std::binary_search(r.classes.begin(), r.classes.end(), int64_t(lab.at({r.partner, y, x})));
          int64_t src = pasted ? r.partner : b;
          BOOST_REQUIRE(m.labels.at({b, y, x}) == lab.at({src, y, x}));
          for (int64_t c = 0; c < 3; ++c) BOOST_REQUIRE(m.images.at({b, c, y, x}) == img.at({src, c, y, x}));
        }
      if (r.kind == "pixel") {  // floor(n / 2) of the partner's classes
        std::set<int64_t> present;
        for (double v : ops::to_vector(ops::select(lab, 0, r.partner))) present.insert(int64_t(v));
        BOOST_TEST(r.classes.size() == present.size() / 2);
      }
    }
    BOOST_TEST(kinds > 0);
  }
}

BOOST_AUTO_TEST_CASE(blend_gives_soft_targets) {
  Generator g(2);
  Tensor img = ops::rand({2, 3, 4, 4}, DType::Float32, &g);
  Tensor lab = ops::from_vector(std::vector<double>(32, 0), {2, 4, 4}, DType::Int64);
  ops::fill_(ops::select(lab, 0, 1), 5);  // image 1 is all class 5, image 0 all class 0
  ops::fill_(ops::narrow(ops::select(lab, 0, 1), 0, 0, 2), 6);
  MixedBatch m = mix_batch(img, lab, ops::from_vector({0, 1}, {2}, DType::Int64), {0.0, 1.0, true, 255}, g);
  const MixRecord& r = m.records[0];
  BOOST_TEST(r.kind == "pixel");
  BOOST_TEST(r.classes.size() == 1u);
  int64_t pasted = r.classes[0];
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 4; ++x)
      if (lab.at({1, y, x}) == pasted) {
        BOOST_TEST(m.labels.at({0, y, x}) == pasted);
        BOOST_TEST(m.labels2.at({0, y, x}) == 0);
        BOOST_TEST(std::fabs(m.mix_weight.at({0, y, x}) - r.lambda) < 1e-6);
        double want = r.lambda * img.at({1, 0, y, x}) + (1 - r.lambda) * img.at({0, 0, y, x});
        BOOST_TEST(std::fabs(m.images.at({0, 0, y, x}) - want) < 1e-6);
      } else {
        BOOST_TEST(m.labels.at({0, y, x}) == 0);
        BOOST_TEST(m.mix_weight.at({0, y, x}) == 1.0);
      }
}

BOOST_AUTO_TEST_SUITE_END()
