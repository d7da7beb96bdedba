// test_bench.cpp: `mdp bench --workload experiment-train | experiment-infer` and its PyTorch twin
// (bench/experiment_twin.py) describe the same model: equal parameter counts and forward FLOPs (mdp's
// nn::summarize against the twin's hooks counting by the same rule), and both print the peer's JSON schema.
// Timing is not tested (benchmarks are not tests).
#include <boost/test/unit_test.hpp>

#include "tests/apps/cli_util.h"

using namespace mdp::test;

namespace {
// The integer value of "key": N in a JSON line, or -1.
long long json_int(const std::string& text, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\"" + key + "\": ([0-9]+)"))) return -1;
  return std::stoll(m[1]);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(bench)

BOOST_AUTO_TEST_CASE(experiment_workload_matches_its_pytorch_twin) {
  const std::string twin = "/usr/bin/python3 " + std::string(MDP_SOURCE_DIR) + "/bench/experiment_twin.py";
  for (std::string workload : {"experiment-train", "experiment-infer"}) {
    BOOST_TEST_CONTEXT(workload) {
      Run m = sh("{mdp} bench --workload " + workload + " --batch 2 --size 64 --steps 1 --warmup 0 --threads 1");
      BOOST_TEST_REQUIRE(m.rc == 0, m.out);
      BOOST_TEST(contains(m.out, "\"workload\": \"" + workload + "\""));
      BOOST_TEST(contains(m.out, "\"images_per_s\": "));
      Run t = sh(twin + " --workload " + workload + " --size 64 --describe");
      BOOST_TEST_REQUIRE(t.rc == 0, t.out);
      long long params = json_int(m.out, "params"), flops = json_int(m.out, "forward_flops_per_image");
      BOOST_TEST(params > 3000000);  // ResNet-18 at width 1/2 (2.8 M) and the 64-channel ASPP head
      BOOST_TEST(flops > 0);
      BOOST_TEST(params == json_int(t.out, "params"));
      BOOST_TEST(flops == json_int(t.out, "forward_flops_per_image"));
    }
  }
  // The twin's timed run prints the peer's schema too.
  Run t = sh(twin + " --workload experiment-train --batch 2 --size 32 --steps 1 --warmup 0 --threads 1");
  BOOST_TEST_REQUIRE(t.rc == 0, t.out);
  BOOST_TEST(contains(t.out, "\"framework\": \"pytorch-"));
  BOOST_TEST(contains(t.out, "\"images_per_s\": "));
}

BOOST_AUTO_TEST_CASE(unknown_workload_is_refused_with_the_list) {
  Run m = sh("{mdp} bench --workload experiment");
  BOOST_TEST(m.rc != 0);
  BOOST_TEST(contains(m.out, "unknown workload 'experiment'"));
  BOOST_TEST(contains(m.out, "experiment-train"));
}

BOOST_AUTO_TEST_SUITE_END()
