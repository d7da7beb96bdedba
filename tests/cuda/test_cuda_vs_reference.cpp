// Suite cuda_vs_reference: the CUDA backend against the reference backend on the table of
// tests/tensor/op_cases.h (the same cases the CPU suite runs: views made on the device, broadcast,
// size-0 and size-1 shapes, float32, bfloat16 and float64), plus what only CUDA has: TF32.
#include <boost/test/unit_test.hpp>

#include "cuda/cuda_backend.h"
#include "tests/common.h"
#include "tests/tensor/op_cases.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(cuda_vs_reference)

const Device kGpu = Device::cuda(0);
BOOST_AUTO_TEST_CASE(elementwise) { check_cases(elementwise_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(optimizer_updates) { check_cases(optimizer_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(reductions) { check_cases(reduction_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(matmul) { check_cases(matmul_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(conv2d) { check_cases(conv2d_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(batch_norm) { check_cases(batch_norm_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(pooling) { check_cases(pooling_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(resize) { check_cases(resize_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(softmax_and_cross_entropy) { check_cases(softmax_cross_entropy_cases(), kGpu); }
BOOST_AUTO_TEST_CASE(indexing) { check_cases(indexing_cases(), kGpu); }

// TF32 (cuBLAS and cuDNN with 10-bit mantissa inputs): within TF32 rounding of the float32 reference.
BOOST_AUTO_TEST_CASE(tf32) {
  Tensor ba0 = randn({4, 5, 7}, DType::Float32, 7), bb0 = randn({1, 7, 2}, DType::Float32, 8);
  Tensor x0 = randn({2, 16, 12, 12}, DType::Float32, 13), w0 = randn({8, 16, 3, 3}, DType::Float32, 14);
  cuda::set_allow_tf32(true);
  check_case({"matmul tf32", [=](Device d) { return std::vector<Tensor>{ops::matmul(on(ba0, d), on(bb0, d))}; }, {2e-2, 2e-2}}, kGpu);
  check_case({"conv2d tf32", [=](Device d) {
                return std::vector<Tensor>{ops::conv2d(on(x0, d), on(w0, d), Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1})};
              }, {5e-2, 2e-2}}, kGpu);
  cuda::set_allow_tf32(false);
}

BOOST_AUTO_TEST_SUITE_END()
