// test_regressions.cpp: every input kept in tests/fuzz/regressions/<target>/ (each a fuzzer finding,
// fixed) replayed through its target's own checks. The fuzz_*.cpp files are compiled into this test with
// the project's compiler (and, in the Asan build, its sanitizers) under the names mdp_fuzz_<target>
// (tests/fuzz/CMakeLists.txt), so a finding stays fixed on machines without clang or libFuzzer.
// A target aborts on a broken invariant, which fails this test; the input's name is printed first.
#define BOOST_TEST_MODULE fuzz
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#define MDP_FUZZ_TARGETS(X) X(decoders) X(safetensors) X(run_state) X(config) X(label_mapping) X(folder_layout) X(dataset_lists)
#define DECLARE(t) extern "C" int mdp_fuzz_##t(const uint8_t* data, size_t size);
MDP_FUZZ_TARGETS(DECLARE)

namespace fs = std::filesystem;

namespace {

using Target = int (*)(const uint8_t*, size_t);

int replay(const std::string& target, Target fn) {
  const fs::path dir = fs::path(MDP_SOURCE_DIR) / "tests" / "fuzz" / "regressions" / target;
  if (!fs::is_directory(dir)) return 0;
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir)) inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << p);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::cerr << "fuzz/" << target << ": replaying " << p.filename().string() << std::endl;
    BOOST_CHECK_EQUAL(fn(bytes.data(), bytes.size()), 0);
  }
  return int(inputs.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(regressions)

#define REPLAY(t) \
  BOOST_AUTO_TEST_CASE(t) { BOOST_TEST_MESSAGE(#t ": " << replay(#t, mdp_fuzz_##t) << " inputs replayed"); }
MDP_FUZZ_TARGETS(REPLAY)

BOOST_AUTO_TEST_SUITE_END()
