// Suite paired_stats: Student-t quantiles against published values, the paired interval against a hand
// computation, and each verdict (reproduced, reversed, inconclusive, consistent, differs; one seed).
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "mdp/paired_stats.h"
#include "tensor/error.h"

using namespace mdp;

BOOST_AUTO_TEST_SUITE(paired_stats)

BOOST_AUTO_TEST_CASE(t_quantiles) {
  // two-sided 95% critical values (any statistics table)
  const std::pair<int, double> known[] = {{1, 12.706}, {4, 2.776}, {10, 2.228}, {30, 2.042},
                                          {40, 2.021}, {60, 2.000}, {120, 1.980}, {1000, 1.962}};
  for (auto [dof, t] : known) BOOST_TEST(std::abs(t_quantile_975(dof) - t) < 1.5e-3, dof << ": " << t_quantile_975(dof));
  BOOST_CHECK_THROW(t_quantile_975(0), Error);
}

BOOST_AUTO_TEST_CASE(interval_by_hand) {
  // differences 1, 2, 3, 4, 5: mean 3, sd sqrt(2.5), half-width 2.7764 * sqrt(2.5) / sqrt(5)
  PairedDifference d = paired_difference({11, 12, 13, 14, 15}, {10, 10, 10, 10, 10});
  BOOST_TEST(d.n == 5);
  BOOST_TEST(d.mean == 3.0, boost::test_tools::tolerance(1e-12));
  double half = 2.7764 * std::sqrt(2.5) / std::sqrt(5.0);
  BOOST_TEST(d.lo == 3 - half, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(d.hi == 3 + half, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(d.verdict == "reproduced");
}

BOOST_AUTO_TEST_CASE(verdicts) {
  BOOST_TEST(paired_difference({1, 2, 3}, {2, 3, 4.5}).verdict == "reversed");
  BOOST_TEST(paired_difference({1, 3, 2}, {2, 2, 2}).verdict == "inconclusive");  // differences -1, 1, 0
  // a large mean with a large spread stays inconclusive: pairing, not the mean, decides
  BOOST_TEST(paired_difference({10, -6, 8}, {0, 0, 0}).verdict == "inconclusive");
  PairedDifference one = paired_difference({5}, {1});
  BOOST_TEST(one.verdict == "inconclusive");  // one seed: no interval, whatever the difference
  BOOST_TEST(one.lo == 4.0);
  BOOST_TEST(paired_difference({1, 3, 2}, {2, 2, 2}, Expect::NoDifference).verdict == "consistent");
  BOOST_TEST(paired_difference({3, 3.1, 2.9}, {1, 1, 1}, Expect::NoDifference).verdict == "differs");
  BOOST_CHECK_THROW(paired_difference({1, 2}, {1}), Error);
}

BOOST_AUTO_TEST_SUITE_END()
