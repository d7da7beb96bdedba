// Suite proto_loss: the pixel-to-prototype loss with sparse coding against an independent PyTorch
// implementation (tools/mdp_reference.py, autograd gradients) on the same tensors — ignored pixels,
// unfilled classes, k larger than the candidates, setting 1, other-datasets-only, soft targets — in
// float64 (reference backend) and float32 (cpu backend); plus finite differences in float64; pixel
// weights against repeated pixels; region_weights.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <optional>

#include "autograd/gradcheck.h"
#include "mdp/proto_loss.h"
#include "tensor/backend.h"
#include "tensor/tensor_file.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
TensorFile load() {
  const char* dir = std::getenv("MDP_MDP_REFERENCE_DIR");
  BOOST_REQUIRE_MESSAGE(dir, "MDP_MDP_REFERENCE_DIR is not set (ctest sets it; run tools/mdp_reference.py)");
  return load_tensor_file(std::string(dir) + "/proto_loss.safetensors");
}
ProtoLossOptions options_of(const TensorFile& f, const std::string& c) {
  ProtoLossOptions o;
  o.tau = std::stod(f.meta(c + ".tau"));
  std::string m = f.meta(c + ".mode");
  o.sparse_coding = m == "pull" ? SparseCoding::Pull : m == "exclude" ? SparseCoding::Exclude : SparseCoding::None;
  o.k = std::stoll(f.meta(c + ".k"));
  o.lambda_sc = std::stod(f.meta(c + ".lambda"));
  o.other_datasets_only = f.meta(c + ".other_only") == "1";
  return o;
}
std::vector<std::string> cases(const TensorFile& f) {
  std::vector<std::string> r;
  for (auto& [n, t] : f.tensors)
    if (n.size() > 2 && n.substr(n.size() - 2) == ".z") r.push_back(n.substr(0, n.size() - 2));
  return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(proto_loss)

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  TensorFile f = load();
  auto names = cases(f);
  BOOST_TEST(names.size() == 9u);
  for (const std::string& c : names) {
    ProtoLossOptions o = options_of(f, c);
    std::vector<int64_t> cd;
    if (o.other_datasets_only)
      for (double v : ops::to_vector(f.at(c + ".class_dataset"))) cd.push_back(int64_t(v));
    bool soft = f.tensors.count(c + ".labels2") > 0;
    for (DType d : {DType::Float64, DType::Float32}) {
      std::optional<ReferenceScope> ref;
      if (d == DType::Float64) ref.emplace();
      Tensor z = ops::to(f.at(c + ".z"), d);
      z.set_requires_grad(true);
      ProtoLossResult r = mdp::proto_loss(z, f.at(c + ".labels"), ops::to(f.at(c + ".prototypes"), d), f.at(c + ".filled"), o, cd,
                                          {.labels2 = soft ? f.at(c + ".labels2") : Tensor(),
                                           .mix_weight = soft ? ops::to(f.at(c + ".mix_weight"), d) : Tensor()});
      backward(r.loss);
      double tol = d == DType::Float64 ? 1e-10 : 2e-5;
      close(r.loss, f.at(c + ".loss"), tol, tol, c + " loss " + dtype_name(d));
      close(z.grad(), f.at(c + ".dz"), tol, d == DType::Float64 ? 1e-8 : 1e-3, c + " dz " + dtype_name(d));
    }
  }
}

BOOST_AUTO_TEST_CASE(finite_differences) {
  Generator g(5);
  Tensor P = ops::randn({7, 5}, DType::Float64, &g);
  P = ops::div(P, ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(P, P), {1}, true)));
  Tensor filled = ops::from_vector({1, 1, 0, 1, 1, 1, 0}, {7}, DType::Bool);
  Tensor y = ops::from_vector({0, 3, 255, 2, 4, 5, 1, 3, 0, 4}, {10}, DType::Int64);
  for (SparseCoding sc : {SparseCoding::None, SparseCoding::Pull, SparseCoding::Exclude}) {
    ProtoLossOptions o;
    o.sparse_coding = sc;
    o.k = 2;
    o.tau = 0.5;
    GradcheckResult r = gradcheck([&](const TensorList& in) { return mdp::proto_loss(in[0], y, P, filled, o).loss; },
                                  {ops::randn({10, 5}, DType::Float64, &g)});
    BOOST_TEST(r.ok, r.message);
    BOOST_TEST(r.checked > 0);
  }
}

// Integer pixel weights equal repeating each pixel that many times (0: leaving it out), in the loss and,
// summed over the copies, in the gradient; for every sparse-coding setting, with soft targets (not
// setting 1: refused), on the reference backend in float64 and the cpu backend in float32.
BOOST_AUTO_TEST_CASE(pixel_weights_equal_repeated_pixels) {
  for (DType d : {DType::Float64, DType::Float32}) {
  std::optional<ReferenceScope> ref;
  if (d == DType::Float64) ref.emplace();
  const double tol = d == DType::Float64 ? 1e-12 : 2e-6;
  Generator g(9);
  Tensor P = ops::randn({6, 4}, DType::Float64, &g);
  P = ops::div(P, ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(P, P), {1}, true)));
  Tensor filled = ops::from_vector({1, 1, 0, 1, 1, 1}, {6}, DType::Bool);
  const std::vector<double> yv{0, 3, 255, 1, 4, 5, 3, 0}, wv{1, 2, 3, 0, 1, 3, 2, 1}, y2v{3, 0, 1, 4, 255, 1, 5, 4},
      mwv{0.7, 1, 0.5, 0.2, 1, 0.6, 0.9, 0.4};
  std::vector<double> rep;
  for (size_t i = 0; i < wv.size(); ++i)
    for (int c = 0; c < int(wv[i]); ++c) rep.push_back(double(i));
  Tensor idx = ops::from_vector(rep, {int64_t(rep.size())}, DType::Int64);
  Tensor y = ops::from_vector(yv, {8}, DType::Int64), a = ops::from_vector(wv, {8}, DType::Float64);
  Tensor y2 = ops::from_vector(y2v, {8}, DType::Int64), mw = ops::from_vector(mwv, {8}, DType::Float64);
  Tensor z0 = ops::randn({8, 4}, DType::Float64, &g);
  P = ops::to(P, d);
  a = ops::to(a, d);
  mw = ops::to(mw, d);
  z0 = ops::to(z0, d);
  for (SparseCoding sc : {SparseCoding::None, SparseCoding::Pull, SparseCoding::Exclude})
    for (bool soft : {false, true}) {
      if (soft && sc == SparseCoding::Exclude) continue;
      BOOST_TEST_CONTEXT(dtype_name(d) << " sparse coding " << int(sc) << " soft " << soft) {
        ProtoLossOptions o;
        o.sparse_coding = sc;
        o.k = 2;
        o.tau = 0.3;
        Tensor zw = ops::clone(z0), zr = ops::clone(z0);
        zw.set_requires_grad(true);
        zr.set_requires_grad(true);
        ProtoLossResult w = mdp::proto_loss(zw, y, P, filled, o, {},
                                            {.labels2 = soft ? y2 : Tensor(), .mix_weight = soft ? mw : Tensor(), .weight = a});
        ProtoLossResult r = mdp::proto_loss(index_select(zr, 0, idx), ops::index_select(y, 0, idx), P, filled, o, {},
                                            {.labels2 = soft ? ops::index_select(y2, 0, idx) : Tensor(),
                                             .mix_weight = soft ? ops::index_select(mw, 0, idx) : Tensor()});
        backward(w.loss);
        backward(r.loss);
        BOOST_TEST(std::abs(w.loss.item() - r.loss.item()) < tol);
        BOOST_TEST(std::abs(w.proto - r.proto) < tol);
        BOOST_TEST(std::abs(w.sparse - r.sparse) < tol);
        BOOST_TEST(w.weight == r.weight);
        BOOST_TEST(max_abs_diff(zw.grad(), zr.grad()) < tol);
      }
    }
  if (d == DType::Float32) continue;
  // All weights 0: a zero loss and gradient, finite.
  Tensor zz = ops::clone(z0);
  zz.set_requires_grad(true);
  ProtoLossResult none = mdp::proto_loss(zz, y, P, filled, ProtoLossOptions{}, {}, {.weight = ops::mul(a, 0.0)});
  backward(none.loss);
  BOOST_TEST(none.loss.item() == 0.0);
  BOOST_TEST(none.weight == 0.0);
  BOOST_TEST(none.pixels > 0);
  BOOST_TEST(max_abs_diff(zz.grad(), ops::zeros_like(zz)) == 0.0);
  ProtoLossOptions o;  // and finite differences with fractional weights
  o.k = 2;
  o.tau = 0.5;
  Tensor af = ops::mul(a, 0.37);
  GradcheckResult fd = gradcheck([&](const TensorList& in) { return mdp::proto_loss(in[0], y, P, filled, o, {}, {.weight = af}).loss; },
                                 {z0});
  BOOST_TEST(fd.ok, fd.message);
  }
}

// region_weights: 1 / (pixels of the class in the image); each image's weights sum to its classes.
BOOST_AUTO_TEST_CASE(region_weights_make_every_image_class_region_weigh_one) {
  Tensor y = ops::from_vector({0, 0, 0, 2, 255, 2, 1, 1, 1, 1, 1, 2}, {2, 2, 3}, DType::Int64);
  std::vector<double> a = ops::to_vector(region_weights(y, 3));
  const std::vector<double> want{1. / 3, 1. / 3, 1. / 3, 0.5, 0, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 1};
  BOOST_TEST(a.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) BOOST_TEST(std::abs(a[i] - want[i]) < 1e-7);
  BOOST_TEST(throws_with([&] { region_weights(ops::zeros({2, 3}, DType::Int64), 3); }, {"region_weights", "(N, h, w)"}));
}

BOOST_AUTO_TEST_CASE(bad_input) {
  Tensor z = ops::zeros({4, 3}), P = ops::zeros({5, 3}), filled = ops::ones({5}, DType::Bool);
  BOOST_TEST(throws_with([&] { mdp::proto_loss(z, ops::from_vector({0, 1, 9, 255}, {4}, DType::Int64), P, filled, {}); },
                         {"proto_loss", "label 9", "5 classes"}));
  BOOST_TEST(throws_with([&] { mdp::proto_loss(z, ops::zeros({4}, DType::Int64), ops::zeros({5, 2}), filled, {}); },
                         {"proto_loss", "prototypes [5, 2]"}));
  ProtoLossOptions o;
  o.other_datasets_only = true;
  BOOST_TEST(throws_with([&] { mdp::proto_loss(z, ops::zeros({4}, DType::Int64), P, filled, o); }, {"dataset of each"}));
  BOOST_TEST(throws_with([&] { mdp::proto_loss(z, ops::zeros({4}, DType::Int64), P, filled, {}, {}, {.weight = ops::ones({3})}); },
                         {"proto_loss", "pixel weights", "[3]"}));
  ProtoLossOptions ex;
  ex.sparse_coding = SparseCoding::Exclude;
  BOOST_TEST(throws_with([&] {
    mdp::proto_loss(z, ops::zeros({4}, DType::Int64), P, filled, ex, {},
                    {.labels2 = ops::zeros({4}, DType::Int64), .mix_weight = ops::ones({4})});
  }, {"proto_loss", "setting 1", "mdp.blend"}));
}

BOOST_AUTO_TEST_SUITE_END()
