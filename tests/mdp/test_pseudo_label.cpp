// Suite pseudo_label: pseudo-labels from prototypes against a loop over pixels and classes; unfilled
// classes never chosen, the threshold, nothing filled, float64, and the tensors a PrototypeBank returns.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "mdp/prototype_bank.h"
#include "mdp/pseudo_label.h"
#include "tensor/backend.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
Tensor unit(const Tensor& x, int64_t dim) {
  return ops::div(x, ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(x, x), {dim}, true)));
}
// The rule written out: best cosine over the filled classes, first on ties; ignore below threshold.
std::vector<int64_t> loop_labels(const Tensor& keys, const Tensor& protos, const std::vector<bool>& filled,
                                 double threshold, int64_t ignore) {
  const int64_t N = keys.size(0), D = keys.size(1), S = keys.size(2) * keys.size(3), C = protos.size(0);
  auto k = ops::to_vector(keys), p = ops::to_vector(protos);
  std::vector<int64_t> out;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      int64_t best = -1;
      double best_cos = -INFINITY;
      for (int64_t c = 0; c < C; ++c) {
        if (!filled[size_t(c)]) continue;
        double dot = 0, nk = 0, np = 0;
        for (int64_t d = 0; d < D; ++d) {
          double a = k[size_t((n * D + d) * S + s)], b = p[size_t(c * D + d)];
          dot += a * b, nk += a * a, np += b * b;
        }
        double cos = dot / std::sqrt(nk * np);
        if (cos > best_cos) best_cos = cos, best = c;
      }
      out.push_back(best < 0 || (threshold > -1 && best_cos < threshold) ? ignore : best);
    }
  return out;
}
std::vector<int64_t> as_ints(const Tensor& t) {
  std::vector<int64_t> r;
  for (double v : ops::to_vector(t)) r.push_back(int64_t(v));
  return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pseudo_label)

BOOST_AUTO_TEST_CASE(argmax_over_filled_prototypes) {
  Tensor keys = unit(randn({2, 8, 5, 6}, DType::Float32, 1), 1);
  Tensor protos = unit(randn({7, 8}, DType::Float32, 2), 1);
  std::vector<bool> filled{true, false, true, true, false, true, true};
  Tensor fm = ops::from_vector({1, 0, 1, 1, 0, 1, 1}, {7}, DType::Bool);
  Tensor y = pseudo_labels(keys, protos, fm, -1, 255);
  BOOST_TEST(y.dtype() == DType::Int64);
  BOOST_TEST((y.shape() == Shape{2, 5, 6}));
  std::vector<int64_t> got = as_ints(y), want = loop_labels(keys, protos, filled, -1, 255);
  BOOST_TEST(got == want, boost::test_tools::per_element());
  for (int64_t v : got) BOOST_TEST((v != 1 && v != 4 && v != 255));
  // With everything filled the unfilled classes win somewhere, so the mask did matter.
  std::vector<int64_t> all = as_ints(pseudo_labels(keys, protos, ops::ones({7}, DType::Bool), -2, 255));
  BOOST_TEST(all == loop_labels(keys, protos, std::vector<bool>(7, true), -1, 255), boost::test_tools::per_element());
  BOOST_TEST((std::count(all.begin(), all.end(), 1) + std::count(all.begin(), all.end(), 4) > 0));
  // A 0/1 float mask and keys that are not unit vectors give the same labels.
  Tensor fm_float = ops::from_vector({1, 0, 1, 1, 0, 1, 1}, {7}, DType::Float32);
  BOOST_TEST(as_ints(pseudo_labels(ops::mul(keys, 3.0), protos, fm_float, -1, 255)) == got, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unfilled_zero_prototype_never_chosen) {
  // Key (-1, 0): cos with the filled prototype (1, 0) is -1, with the unfilled zero prototype 0.
  Tensor keys = ops::from_vector({-1, 0}, {1, 2, 1, 1});
  Tensor protos = ops::from_vector({0, 0, 1, 0}, {2, 2});
  Tensor filled = ops::from_vector({0, 1}, {2}, DType::Bool);
  BOOST_TEST(as_ints(pseudo_labels(keys, protos, filled, -1, 255)) == std::vector<int64_t>{1});
  BOOST_TEST(as_ints(pseudo_labels(keys, protos, filled, -0.5, 255)) == std::vector<int64_t>{255});
}

BOOST_AUTO_TEST_CASE(threshold) {
  Tensor keys = unit(randn({1, 4, 6, 6}, DType::Float32, 3), 1);
  Tensor protos = unit(randn({5, 4}, DType::Float32, 4), 1);
  Tensor filled = ops::ones({5}, DType::Bool);
  std::vector<int64_t> none = as_ints(pseudo_labels(keys, protos, filled, -1, 99));
  for (double t : {0.0, 0.5, 0.8}) {
    std::vector<int64_t> got = as_ints(pseudo_labels(keys, protos, filled, t, 99));
    BOOST_TEST(got == loop_labels(keys, protos, std::vector<bool>(5, true), t, 99), boost::test_tools::per_element());
    int64_t ignored = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] == 99) ++ignored;
      else BOOST_TEST(got[i] == none[i]);  // kept pixels keep their label
    }
    BOOST_TEST_MESSAGE("threshold " << t << ": " << ignored << " of 36 ignored");
    if (t == 0.8) BOOST_TEST(ignored > 0);
  }
  BOOST_TEST(as_ints(pseudo_labels(keys, protos, filled, 1.01, 99)) == std::vector<int64_t>(36, 99));
}

BOOST_AUTO_TEST_CASE(nothing_filled) {
  Tensor keys = unit(randn({2, 4, 3, 3}, DType::Float32, 5), 1);
  Tensor y = pseudo_labels(keys, unit(randn({3, 4}), 1), ops::zeros({3}, DType::Bool), -1, 255);
  BOOST_TEST((y.shape() == Shape{2, 3, 3}));
  BOOST_TEST(as_ints(y) == std::vector<int64_t>(18, 255));
}

BOOST_AUTO_TEST_CASE(float64_and_no_gradient) {
  ReferenceScope ref;
  Tensor keys = unit(randn({1, 6, 4, 4}, DType::Float64, 6), 1);
  keys.set_requires_grad(true);
  Tensor protos = unit(randn({4, 6}, DType::Float32, 7), 1);  // the bank's dtype is float32
  Tensor filled = ops::from_vector({1, 1, 0, 1}, {4}, DType::Bool);
  Tensor y = pseudo_labels(keys, protos, filled, 0.1, 255);
  BOOST_TEST(!y.requires_grad());
  BOOST_TEST(as_ints(y) == loop_labels(keys, ops::to(protos, DType::Float64), {true, true, false, true}, 0.1, 255),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(from_a_prototype_bank) {
  // Keys near three class directions; the bank sees classes 0 and 2 only, so every pixel of class 1 is
  // labelled 0 or 2 (or ignored under a threshold) and the others get their own class back.
  const int64_t D = 8;
  Tensor dirs = unit(randn({3, D}, DType::Float32, 8), 1);
  std::vector<double> lab;
  Tensor noise = ops::mul(randn({2 * 16, D}, DType::Float32, 9), 0.05);
  for (int64_t i = 0; i < 32; ++i) lab.push_back(double(i % 3));
  Tensor labels = ops::from_vector(lab, {2, 4, 4}, DType::Int64);
  Tensor rows = unit(ops::add(ops::index_select(dirs, 0, ops::reshape(labels, {32})), noise), 1);     // (32, D)
  Tensor keys = ops::contiguous(ops::permute(ops::reshape(rows, {2, 4, 4, D}), {0, 3, 1, 2}));          // (2, D, 4, 4)
  PrototypeBank bank({.num_classes = 3, .dim = D, .queue_length = 8});
  std::vector<double> seen;
  for (double v : lab) seen.push_back(v == 1 ? 255 : v);
  bank.update(keys, ops::from_vector(seen, {2, 4, 4}, DType::Int64));
  BOOST_TEST(bank.num_filled() == 2);
  std::vector<int64_t> got = as_ints(pseudo_labels(keys, bank.prototypes(), bank.filled(), -1, 255));
  for (size_t i = 0; i < got.size(); ++i) {
    if (lab[i] == 1) BOOST_TEST((got[i] == 0 || got[i] == 2));
    else BOOST_TEST(got[i] == int64_t(lab[i]));
  }
}

BOOST_AUTO_TEST_CASE(bad_input) {
  BOOST_TEST(throws_with([] { pseudo_labels(ops::zeros({1, 4, 2, 2}), ops::zeros({3, 5}), ops::ones({3}, DType::Bool), -1, 255); },
                         {"pseudo_labels", "prototypes [3, 5]"}));
  BOOST_TEST(throws_with([] { pseudo_labels(ops::zeros({1, 4, 2, 2}), ops::zeros({3, 4}), ops::ones({2}, DType::Bool), -1, 255); },
                         {"pseudo_labels", "filled"}));
}

BOOST_AUTO_TEST_SUITE_END()
