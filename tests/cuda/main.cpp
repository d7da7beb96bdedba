// The Boost.Test module of tests/cuda, with its own main: without a CUDA device it prints one line
// saying so and exits 77 (CTest's SKIP_RETURN_CODE) instead of running cases that cannot pass.
#define BOOST_TEST_MODULE cuda
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>

#include "cuda/cuda_backend.h"

// Under AddressSanitizer (make asan) the CUDA driver needs the address range ASan protects as its
// "shadow gap", and libcuda's allocations look like leaks at exit. Ignored by builds without ASan.
extern "C" const char* __asan_default_options() { return "protect_shadow_gap=0:detect_leaks=0"; }

int main(int argc, char* argv[]) {
  std::string why;
  if (!mdp::cuda::cuda_available(&why)) {
    std::printf("test_cuda: SKIPPED: no CUDA device (%s)\n", why.c_str());
    return 77;
  }
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
