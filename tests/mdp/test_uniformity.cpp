// Suite uniformity: the uniformity loss (mdp/uniformity.h) against a plain double loop, its value at the
// two extremes (all embeddings equal: 0; antipodal pairs: the closed form), float64 finite differences,
// and the row sampler (distinct, sorted, all rows when there are few).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/gradcheck.h"
#include "mdp/uniformity.h"
#include "tensor/random.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
Tensor unit_rows(int64_t M, int64_t D, Generator& g) {
  Tensor z = ops::randn({M, D}, DType::Float64, &g);
  return ops::div(z, ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(z, z), {1}, true)));
}
double loop_reference(const Tensor& z, double t) {
  std::vector<double> v = ops::to_vector(z);
  const int64_t M = z.size(0), D = z.size(1);
  double s = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < M; ++j) {
      if (i == j) continue;
      double d2 = 0;
      for (int64_t k = 0; k < D; ++k) d2 += (v[size_t(i * D + k)] - v[size_t(j * D + k)]) * (v[size_t(i * D + k)] - v[size_t(j * D + k)]);
      s += std::exp(-t * d2);
    }
  return std::log(s / double(M * (M - 1)));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(uniformity)

BOOST_AUTO_TEST_CASE(matches_a_plain_loop_in_float64_and_float32) {
  Generator g(3);
  for (double t : {2.0, 0.5}) {
    Tensor z = unit_rows(9, 4, g);
    const double want = loop_reference(z, t);
    BOOST_TEST(std::abs(uniformity_loss(z, t).item() - want) < 1e-12);
    BOOST_TEST(std::abs(uniformity_loss(ops::to(z, DType::Float32), t).item() - want) < 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(is_zero_when_collapsed_and_the_closed_form_for_antipodal_pairs) {
  Tensor same = ops::from_vector({0.6, 0.8, 0.6, 0.8, 0.6, 0.8}, {3, 2}, DType::Float64);
  BOOST_TEST(std::abs(uniformity_loss(same).item()) < 1e-12);
  // +e1, -e1: the one pair at distance 2 (squared 4) -> log exp(-4 t)
  Tensor pair = ops::from_vector({1, 0, -1, 0}, {2, 2}, DType::Float64);
  BOOST_TEST(std::abs(uniformity_loss(pair, 2.0).item() - (-8.0)) < 1e-12);
  // far apart and sharp, in float32: the diagonal is masked, not subtracted (which would cancel to 0)
  BOOST_TEST(std::abs(uniformity_loss(ops::to(pair, DType::Float32), 10.0).item() - (-40.0)) < 1e-4);
}

BOOST_AUTO_TEST_CASE(finite_differences) {
  Generator g(4);
  GradcheckResult r = gradcheck([](const TensorList& in) { return uniformity_loss(in[0]); }, {unit_rows(6, 3, g)});
  BOOST_TEST(r.ok, r.message);
  BOOST_TEST(r.checked > 0);
}

BOOST_AUTO_TEST_CASE(sample_rows_draws_distinct_sorted_rows) {
  Generator g(5);
  std::vector<double> a = ops::to_vector(sample_rows(100, 10, g));
  BOOST_TEST(a.size() == 10u);
  BOOST_TEST(std::set<double>(a.begin(), a.end()).size() == 10u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  for (double v : a) BOOST_TEST((v >= 0 && v < 100));
  std::vector<int> hits(100, 0);  // 500 draws of 10 of 100: every row drawn, none far above its 50 expected
  for (int k = 0; k < 500; ++k)
    for (double v : ops::to_vector(sample_rows(100, 10, g))) ++hits[size_t(v)];
  BOOST_TEST(*std::min_element(hits.begin(), hits.end()) > 20);
  BOOST_TEST(*std::max_element(hits.begin(), hits.end()) < 90);
  std::vector<double> all = ops::to_vector(sample_rows(4, 10, g));
  BOOST_TEST((all == std::vector<double>{0, 1, 2, 3}));
  BOOST_TEST(throws_with([] { uniformity_loss(ops::zeros({1, 3})); }, {"uniformity_loss", "M >= 2"}));
}

BOOST_AUTO_TEST_SUITE_END()
