// Suite multi_head: the multi-head co-training loss equals, sample by sample, an ordinary cross-entropy
// on the sample's own dataset's slice of the logits (forward and gradient), the other datasets' logits
// get exactly no gradient, and finite differences in float64 agree.
#include <boost/test/unit_test.hpp>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "mdp/multi_head.h"
#include "tensor/error.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
// 3 samples of datasets 1, 0, 1; classes 0..2 belong to dataset 0, 3..6 to dataset 1.
const std::vector<std::vector<int64_t>> kClassDataset = {{0, 1, 2}, {3, 4, 5, 6}};
Tensor labels_i64() {
  std::vector<double> v = {3, 4, 255, 6, 5, 3,  // sample 0 (dataset 1)
                           0, 2, 2, 1, 255, 0,  // sample 1 (dataset 0)
                           6, 6, 5, 4, 3, 255};
  return ops::from_vector(v, {3, 2, 3}, DType::Int64);
}
Tensor ids() { return ops::from_vector({1, 0, 1}, {3}, DType::Int64); }
}  // namespace

BOOST_AUTO_TEST_SUITE(multi_head)

BOOST_AUTO_TEST_CASE(equals_cross_entropy_on_the_own_heads_slice) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    Tensor logits = randn({3, 7, 2, 3}, dt, 1);
    logits.set_requires_grad(true);
    Tensor loss = multi_head_cross_entropy(logits, labels_i64(), ids(), kClassDataset, 255);
    backward(loss);
    // The plain version: per sample, cross-entropy on its slice with local labels, summed over valid
    // pixels, divided by the valid pixels of the whole batch (5 + 5 + 5).
    Tensor ref_logits = ops::contiguous(detach(logits));
    ref_logits.set_requires_grad(true);
    std::vector<double> y = ops::to_vector(labels_i64());
    Tensor total;
    int64_t starts[3] = {3, 0, 3}, counts[3] = {4, 3, 4};
    for (int64_t n = 0; n < 3; ++n) {
      Tensor ln = narrow(narrow(ref_logits, 0, n, 1), 1, starts[n], counts[n]);
      std::vector<double> local;
      for (int64_t i = 0; i < 6; ++i) {
        double v = y[size_t(n * 6 + i)];
        local.push_back(v == 255 ? 255 : v - double(starts[n]));
      }
      Tensor yn = ops::from_vector(local, {1, 2, 3}, DType::Int64);
      Tensor sum_n = mul(cross_entropy(ln, yn, Tensor(), 255), 5.0);  // 5 valid pixels per sample
      total = total.defined() ? add(total, sum_n) : sum_n;
    }
    Tensor ref = mul(total, 1.0 / 15.0);
    backward(ref);
    double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
    BOOST_TEST(close(loss, ref, tol, tol, "loss"));
    BOOST_TEST(close(logits.grad(), ref_logits.grad(), tol, tol, "gradient"));
    // Another dataset's logits get exactly zero gradient.
    std::vector<double> g = ops::to_vector(logits.grad());
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 6; ++i) BOOST_TEST(g[size_t((0 * 7 + c) * 6 + i)] == 0.0);
    for (int64_t c = 3; c < 7; ++c)
      for (int64_t i = 0; i < 6; ++i) BOOST_TEST(g[size_t((1 * 7 + c) * 6 + i)] == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(a_merged_class_belongs_to_both_datasets) {
  // Label unification: class 2 is shared by both datasets, so a dataset-1 pixel labelled 2 is trained on
  // dataset 1's head (softmax over 2..6), not pushed to -1e4.
  Tensor logits = randn({3, 7, 2, 3}, DType::Float64, 4);
  std::vector<double> y = {2, 4, 255, 6, 5, 2, 0, 2, 2, 1, 255, 0, 6, 6, 5, 4, 3, 255};
  Tensor labels = ops::from_vector(y, {3, 2, 3}, DType::Int64);
  double loss = multi_head_cross_entropy(logits, labels, ids(), {{0, 1, 2}, {2, 3, 4, 5, 6}}, 255).item();
  BOOST_TEST(loss < 10.0);  // every target inside its softmax: an ordinary cross-entropy
  double wrong = multi_head_cross_entropy(logits, labels, ids(), kClassDataset, 255).item();
  BOOST_TEST(wrong > 1000.0);  // the owner-only view would put the target at -1e4
}

BOOST_AUTO_TEST_CASE(finite_differences) {
  GradcheckResult r = gradcheck(
      [&](const TensorList& in) { return multi_head_cross_entropy(in[0], labels_i64(), ids(), kClassDataset, 255); },
      {randn({3, 7, 2, 3}, DType::Float64, 2)});
  BOOST_TEST(r.ok, r.message);
}

BOOST_AUTO_TEST_CASE(bad_input_is_named) {
  Tensor logits = randn({3, 7, 2, 3});
  BOOST_CHECK_EXCEPTION(multi_head_cross_entropy(logits, labels_i64(), ids(), {{0, 1, 2}, {3, 4, 7}}, 255), Error,
                        [](const Error& e) { return std::string(e.what()).find("dataset 1 has class 7, but the logits have 7 classes") != std::string::npos; });
  BOOST_CHECK_EXCEPTION(multi_head_cross_entropy(logits, labels_i64(), ops::from_vector({1, 0, 2}, {3}, DType::Int64),
                                                 kClassDataset, 255),
                        Error, [](const Error& e) { return std::string(e.what()).find("dataset 2, which has no classes") != std::string::npos; });
}

BOOST_AUTO_TEST_SUITE_END()
