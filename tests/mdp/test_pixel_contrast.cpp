// Suite pixel_contrast: the pixel-to-pixel contrast baseline. The loss on fixed anchors against a plain
// double loop written here and against ContrastiveSeg's formula in PyTorch (tools/mdp_reference.py,
// autograd gradients), float64 (reference backend) and float32 (cpu backend); gradients by finite
// differences, through the sampling and gathering too; the sampling rules (per-class caps, min_views,
// the per-image budget, ignore, determinism); the cases with nothing usable.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "autograd/gradcheck.h"
#include "mdp/pixel_contrast.h"
#include "tensor/backend.h"
#include "tensor/tensor_file.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
// The loss written out with loops in double, from the definition in pixel_contrast.h.
double loop_loss(const std::vector<double>& z, int64_t D, const std::vector<int64_t>& y, const std::vector<int64_t>& img,
                 double tau, double base_tau, int64_t& used) {
  const size_t M = y.size();
  auto logit = [&](size_t i, size_t j) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += z[i * size_t(D) + size_t(d)] * z[j * size_t(D) + size_t(d)];
    return s / tau;
  };
  double total = 0;
  used = 0;
  for (size_t i = 0; i < M; ++i) {
    double m = -INFINITY;
    for (size_t j = 0; j < M; ++j) m = std::max(m, logit(i, j));
    double neg = 0;
    int64_t npos = 0, nneg = 0;
    for (size_t j = 0; j < M; ++j) {
      if (img[j] != img[i]) continue;
      if (y[j] != y[i]) {
        neg += std::exp(logit(i, j) - m);
        ++nneg;
      } else if (j != i) {
        ++npos;
      }
    }
    if (npos == 0 || nneg == 0) continue;
    double li = 0;
    for (size_t j = 0; j < M; ++j)
      if (j != i && img[j] == img[i] && y[j] == y[i]) {
        double l = logit(i, j) - m;
        li += l - std::log(std::exp(l) + neg);
      }
    total += -li / double(npos);
    ++used;
  }
  return used ? tau / base_tau * total / double(used) : 0.0;
}

Tensor unit_rows(const Tensor& x) {
  return ops::div(x, ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(x, x), {1}, true)));
}
Tensor ints(const std::vector<int64_t>& v, const Shape& s) {
  return ops::from_vector(std::vector<double>(v.begin(), v.end()), s, DType::Int64);
}

// Labels (2, 8, 8): image 0 has class 0 on 40 pixels, class 1 on 10, class 2 on 1, ignore (255) on 13;
// image 1 has class 3 on 60 pixels and class 5 on 4.
Tensor sampling_labels() {
  std::vector<int64_t> v(128, 255);
  for (int i = 0; i < 40; ++i) v[size_t(i)] = 0;
  for (int i = 40; i < 50; ++i) v[size_t(i)] = 1;
  v[50] = 2;
  for (int i = 64; i < 124; ++i) v[size_t(i)] = 3;
  for (int i = 124; i < 128; ++i) v[size_t(i)] = 5;
  return ints(v, {2, 8, 8});
}
std::map<std::pair<int64_t, int64_t>, int64_t> counts(const AnchorSample& a) {  // (image, class) -> anchors
  std::map<std::pair<int64_t, int64_t>, int64_t> c;
  for (size_t i = 0; i < a.label.size(); ++i) c[{a.image[i], a.label[i]}]++;
  return c;
}
// Every anchor is a distinct pixel of its image with the stated class; never ignore.
void check_consistent(const AnchorSample& a, const Tensor& labels, int64_t ignore) {
  auto lab = ops::to_vector(labels);
  int64_t S = labels.size(1) * labels.size(2);
  std::set<std::pair<int64_t, int64_t>> seen;
  BOOST_TEST(a.image.size() == a.pixel.size());
  BOOST_TEST(a.label.size() == a.pixel.size());
  for (size_t i = 0; i < a.pixel.size(); ++i) {
    BOOST_TEST(int64_t(lab[size_t(a.image[i] * S + a.pixel[i])]) == a.label[i]);
    BOOST_TEST(a.label[i] != ignore);
    BOOST_TEST(seen.insert({a.image[i], a.pixel[i]}).second);
  }
}

TensorFile load() {
  const char* dir = std::getenv("MDP_MDP_REFERENCE_DIR");
  BOOST_REQUIRE_MESSAGE(dir, "MDP_MDP_REFERENCE_DIR is not set (ctest sets it; run tools/mdp_reference.py)");
  return load_tensor_file(std::string(dir) + "/pixel_contrast.safetensors");
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pixel_contrast)

BOOST_AUTO_TEST_CASE(matches_loop_on_fixed_anchors) {
  // 14 anchors, 2 images: image 0 classes {0 x4, 1 x3, 2 x1 (no positive)}, image 1 classes {0 x2, 4 x4}.
  std::vector<int64_t> y{0, 1, 0, 2, 1, 0, 1, 0, 4, 0, 4, 4, 0, 4};
  std::vector<int64_t> img{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  const int64_t D = 6;
  Tensor z64 = unit_rows(randn({14, D}, DType::Float64, 11));
  for (auto [tau, base] : {std::pair{0.1, 0.07}, std::pair{0.5, 0.5}}) {
    PixelContrastOptions o;
    o.tau = tau;
    o.base_tau = base;
    // Two images together, and each image alone with no image ids.
    int64_t used = 0;
    double want = loop_loss(ops::to_vector(z64), D, y, img, tau, base, used);
    BOOST_TEST(used == 13);  // the class-2 anchor has no positive
    for (DType d : {DType::Float64, DType::Float32}) {
      std::optional<ReferenceScope> ref;
      if (d == DType::Float64) ref.emplace();
      PixelContrastResult r = pixel_contrast_on_anchors(ops::to(z64, d), ints(y, {14}), o, ints(img, {14}));
      BOOST_TEST(r.anchors == used);
      BOOST_TEST(r.sampled == 14);
      BOOST_TEST(r.loss.dim() == 0);
      BOOST_TEST(r.loss.item() == want, boost::test_tools::tolerance(d == DType::Float64 ? 1e-12 : 1e-5));

      std::vector<int64_t> y0(y.begin(), y.begin() + 8), i0(8, 0);
      int64_t used0 = 0;
      double want0 = loop_loss(ops::to_vector(ops::narrow(z64, 0, 0, 8)), D, y0, i0, tau, base, used0);
      PixelContrastResult r0 = pixel_contrast_on_anchors(ops::to(ops::narrow(z64, 0, 0, 8), d), ints(y0, {8}), o);
      BOOST_TEST(r0.anchors == used0);
      BOOST_TEST(r0.loss.item() == want0, boost::test_tools::tolerance(d == DType::Float64 ? 1e-12 : 1e-5));
    }
  }
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  TensorFile f = load();
  std::vector<std::string> names;
  for (auto& [n, t] : f.tensors)
    if (n.size() > 2 && n.substr(n.size() - 2) == ".z") names.push_back(n.substr(0, n.size() - 2));
  BOOST_TEST(names.size() == 4u);
  for (const std::string& c : names) {
    PixelContrastOptions o;
    o.tau = std::stod(f.meta(c + ".tau"));
    o.base_tau = std::stod(f.meta(c + ".base_tau"));
    for (DType d : {DType::Float64, DType::Float32}) {
      std::optional<ReferenceScope> ref;
      if (d == DType::Float64) ref.emplace();
      Tensor z = ops::to(f.at(c + ".z"), d);
      z.set_requires_grad(true);
      PixelContrastResult r = pixel_contrast_on_anchors(z, f.at(c + ".labels"), o, f.at(c + ".image"));
      BOOST_TEST(r.anchors > 0);
      backward(r.loss);
      double tol = d == DType::Float64 ? 1e-10 : 2e-5;
      close(r.loss, f.at(c + ".loss"), tol, tol, c + " loss " + dtype_name(d));
      close(z.grad(), f.at(c + ".dz"), tol, d == DType::Float64 ? 1e-8 : 1e-3, c + " dz " + dtype_name(d));
    }
  }
}

BOOST_AUTO_TEST_CASE(finite_differences) {
  // On given anchors (not normalised: the formula does not need it).
  Tensor y = ints({0, 1, 0, 2, 1, 0, 2, 3, 1, 0}, {10}), img = ints({0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {10});
  PixelContrastOptions o;
  o.tau = 0.5;
  GradcheckResult r = gradcheck([&](const TensorList& in) { return pixel_contrast_on_anchors(in[0], y, o, img).loss; },
                                {randn({10, 5}, DType::Float64, 3)});
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.checked == 50);

  // Through sampling and gathering: embeddings (2, 4, 3, 3) normalised over D; the same seed every call.
  Tensor labels = ints({0, 0, 1, 1, 255, 2, 2, 1, 0, /**/ 3, 3, 3, 0, 0, 255, 255, 0, 3}, {2, 3, 3});
  o.max_views = 3;
  GradcheckResult r2 = gradcheck(
      [&](const TensorList& in) {
        Generator g(7);
        return pixel_contrast_loss(l2_normalize(in[0], 1), labels, o, g).loss;
      },
      {randn({2, 4, 3, 3}, DType::Float64, 4)});
  BOOST_TEST(r2.ok, r2.message);
  BOOST_TEST(r2.checked > 0);
}

BOOST_AUTO_TEST_CASE(sampling_caps_and_min_views) {
  Tensor labels = sampling_labels();
  PixelContrastOptions o;
  o.max_views = 5;
  Generator g(1);
  AnchorSample a = sample_anchors(labels, o, g);
  check_consistent(a, labels, 255);
  using K = std::pair<int64_t, int64_t>;
  // Budget 1024 / 2 = 512 per image: 5 of each class with >= 2 pixels; class 2 (1 pixel) skipped.
  BOOST_TEST((counts(a) == std::map<K, int64_t>{{{0, 0}, 5}, {{0, 1}, 5}, {{1, 3}, 5}, {{1, 5}, 4}}));

  o.max_views = 100;  // a class smaller than n_view gives all its pixels
  a = sample_anchors(labels, o, g);
  BOOST_TEST((counts(a) == std::map<K, int64_t>{{{0, 0}, 40}, {{0, 1}, 10}, {{1, 3}, 60}, {{1, 5}, 4}}));

  o.min_views = 1;  // now the single class-2 pixel is an anchor too
  o.max_views = 5;
  a = sample_anchors(labels, o, g);
  BOOST_TEST(counts(a)[K(0, 2)] == 1);
  BOOST_TEST(a.pixel.size() == 20u);

  o.min_views = 5;  // class 5 has 4 pixels
  a = sample_anchors(labels, o, g);
  BOOST_TEST((counts(a) == std::map<K, int64_t>{{{0, 0}, 5}, {{0, 1}, 5}, {{1, 3}, 5}}));
}

BOOST_AUTO_TEST_CASE(sampling_budget) {
  Tensor labels = sampling_labels();
  PixelContrastOptions o;
  o.max_views = 5;
  Generator g(2);
  using K = std::pair<int64_t, int64_t>;
  o.max_samples = 12;  // 6 per image: 3 views for each of 2 classes
  AnchorSample a = sample_anchors(labels, o, g);
  check_consistent(a, labels, 255);
  BOOST_TEST((counts(a) == std::map<K, int64_t>{{{0, 0}, 3}, {{0, 1}, 3}, {{1, 3}, 3}, {{1, 5}, 3}}));
  o.max_samples = 6;  // 3 per image: 3 / 2 < min_views, so one class at random with 3 views
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Generator gs(seed);
    auto c = counts(sample_anchors(labels, o, gs));
    BOOST_TEST(c.size() == 2u);
    for (auto& [k, n] : c) BOOST_TEST(n == 3);
  }
  o.max_samples = 3;  // 1 per image: fewer than min_views, nothing
  BOOST_TEST(sample_anchors(labels, o, g).pixel.empty());
}

BOOST_AUTO_TEST_CASE(sampling_ignore_and_determinism) {
  Tensor labels = sampling_labels();
  PixelContrastOptions o;
  o.max_views = 7;
  Generator g1(42), g2(42), g3(43);
  AnchorSample a = sample_anchors(labels, o, g1), b = sample_anchors(labels, o, g2), c = sample_anchors(labels, o, g3);
  BOOST_TEST(a.pixel == b.pixel);
  BOOST_TEST(a.label == b.label);
  BOOST_TEST(a.image == b.image);
  BOOST_TEST(a.pixel != c.pixel);
  // Another ignore value: 255 becomes a class (13 pixels), 3 is ignored; negative labels never sampled.
  std::vector<double> v = ops::to_vector(labels);
  v[51] = -1;
  Tensor l2 = ops::from_vector(v, {2, 8, 8}, DType::Int64);
  o.ignore_index = 3;
  Generator g4(5);
  AnchorSample d = sample_anchors(l2, o, g4);
  check_consistent(d, l2, 3);
  using K = std::pair<int64_t, int64_t>;
  BOOST_TEST((counts(d) == std::map<K, int64_t>{{{0, 0}, 7}, {{0, 1}, 7}, {{0, 255}, 7}, {{1, 5}, 4}}));
  // The loss with a fixed seed is reproducible and sees the same anchors.
  Tensor emb = l2_normalize(randn({2, 4, 8, 8}, DType::Float32, 9), 1);
  Generator h1(3), h2(3);
  PixelContrastResult r1 = pixel_contrast_loss(emb, labels, {}, h1), r2 = pixel_contrast_loss(emb, labels, {}, h2);
  BOOST_TEST(r1.loss.item() == r2.loss.item());
  BOOST_TEST(r1.sampled == 40 + 10 + 60 + 4);
  BOOST_TEST(r1.anchors == 40 + 10 + 60 + 4);
}

BOOST_AUTO_TEST_CASE(full_resolution_labels_are_downsampled) {
  // Labels at (16, 16) for embeddings at (8, 8): the same anchors as the labels taken at even pixels.
  Tensor small = sampling_labels();
  std::vector<double> s = ops::to_vector(small), big(2 * 16 * 16);
  for (int n = 0; n < 2; ++n)
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) big[size_t((n * 16 + y) * 16 + x)] = s[size_t((n * 8 + y / 2) * 8 + x / 2)];
  Tensor emb = l2_normalize(randn({2, 6, 8, 8}, DType::Float32, 8), 1);
  Generator g1(4), g2(4);
  PixelContrastResult a = pixel_contrast_loss(emb, small, {}, g1);
  PixelContrastResult b = pixel_contrast_loss(emb, ops::from_vector(big, {2, 16, 16}, DType::Int64), {}, g2);
  BOOST_TEST(a.loss.item() == b.loss.item());
  BOOST_TEST(a.anchors == b.anchors);
}

BOOST_AUTO_TEST_CASE(nothing_usable) {
  PixelContrastOptions o;
  // One class only: anchors but no negatives.
  Tensor emb = l2_normalize(randn({2, 4, 4, 4}, DType::Float32, 1), 1);
  emb.set_requires_grad(true);
  Generator g(0);
  PixelContrastResult r = pixel_contrast_loss(emb, ops::full({2, 4, 4}, 3, DType::Int64), o, g);
  BOOST_TEST(r.sampled == 32);
  BOOST_TEST(r.anchors == 0);
  BOOST_TEST(r.loss.item() == 0.0);
  backward(r.loss);
  BOOST_TEST(ops::to_vector(ops::sum(ops::unary(ops::UnaryOp::Abs, emb.grad()))).at(0) == 0.0);
  // All ignore: nothing sampled.
  Tensor emb2 = l2_normalize(randn({2, 4, 4, 4}, DType::Float32, 2), 1);
  emb2.set_requires_grad(true);
  r = pixel_contrast_loss(emb2, ops::full({2, 4, 4}, 255, DType::Int64), o, g);
  BOOST_TEST(r.sampled == 0);
  BOOST_TEST(r.anchors == 0);
  BOOST_TEST(r.loss.item() == 0.0);
  backward(r.loss);
  BOOST_TEST(ops::to_vector(ops::sum(ops::unary(ops::UnaryOp::Abs, emb2.grad()))).at(0) == 0.0);
  // Every anchor its own class: no positives. No anchors at all.
  BOOST_TEST(pixel_contrast_on_anchors(randn({3, 4}), ints({0, 1, 2}, {3}), o).loss.item() == 0.0);
  BOOST_TEST(pixel_contrast_on_anchors(ops::zeros({0, 4}), ints({}, {0}), o).anchors == 0);
  // Anchors of different images are not negatives of each other.
  BOOST_TEST(pixel_contrast_on_anchors(randn({4, 4}), ints({0, 0, 1, 1}, {4}), o, ints({0, 0, 1, 1}, {4})).anchors == 0);
}

BOOST_AUTO_TEST_CASE(bad_input) {
  PixelContrastOptions o;
  Generator g(0);
  BOOST_TEST(throws_with([&] { pixel_contrast_loss(ops::zeros({2, 4, 3, 3}), ops::zeros({2, 3, 3}), o, g); },
                         {"pixel_contrast", "int64"}));
  BOOST_TEST(throws_with([&] { pixel_contrast_on_anchors(ops::zeros({3, 4}), ints({0, 1}, {2}), o); },
                         {"pixel_contrast", "labels int64 [2]", "[3, 4]"}));
  o.tau = 0;
  BOOST_TEST(throws_with([&] { pixel_contrast_on_anchors(ops::zeros({2, 4}), ints({0, 1}, {2}), o); }, {"tau 0"}));
}

BOOST_AUTO_TEST_SUITE_END()
