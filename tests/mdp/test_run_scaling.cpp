// Suite run_scaling: the rule that scales the key momentum and the queue to a run's length gives the
// paper's values at the paper's length, and on a short run a key encoder whose initial weights have
// faded below 1% after a tenth of the run and a queue a quarter-frequent class refills every 1.25%.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "mdp/run_scaling.h"
#include "tensor/error.h"

using namespace mdp;

BOOST_AUTO_TEST_SUITE(run_scaling)

BOOST_AUTO_TEST_CASE(paper_values_at_paper_length) {
  RunTimeConstants r = scaled_to_run(220000, 16);
  BOOST_TEST(r.key_momentum == 0.999);
  BOOST_TEST(r.queue_length == 4096);
}

BOOST_AUTO_TEST_CASE(short_runs_scale_both) {
  for (int64_t iters : {600, 2400, 9600}) {
    RunTimeConstants r = scaled_to_run(iters, 8);
    BOOST_TEST(r.key_momentum < 0.999);
    BOOST_TEST(std::pow(r.key_momentum, double(iters) / 10) <= 0.01 + 1e-12, iters);  // initial weights < 1%
    BOOST_TEST(std::pow(r.key_momentum, double(iters) / 20) > 0.05, iters);           // but not forgotten at once
    double refill = double(r.queue_length) / (8 * 0.25) / double(iters);             // share of the run
    BOOST_TEST(std::abs(refill - 0.0125) < 0.002, iters << ": " << refill);
  }
  BOOST_TEST(scaled_to_run(2400, 8).queue_length == 60);
  BOOST_TEST(scaled_to_run(10, 1).queue_length == 8);  // the lower cap
}

BOOST_AUTO_TEST_CASE(rejects_empty_runs) {
  BOOST_CHECK_THROW(scaled_to_run(0, 8), Error);
  BOOST_CHECK_THROW(scaled_to_run(100, 0), Error);
}

BOOST_AUTO_TEST_SUITE_END()
