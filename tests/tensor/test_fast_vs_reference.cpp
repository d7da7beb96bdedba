// Suite fast_vs_reference: the CPU backend against the reference backend on the table of
// tests/tensor/op_cases.h (the same cases the CUDA suite runs), plus what is the CPU's own: bf16
// rounding checked value by value, the fused batch norm equal to its composition, and the refusals of
// mixed precision the backends do not have.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <optional>

#include "tensor/backend.h"
#include "tests/common.h"
#include "tests/tensor/op_cases.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(fast_vs_reference)

const Device kCpu = Device::cpu();
BOOST_AUTO_TEST_CASE(elementwise) { check_cases(elementwise_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(optimizer_updates) { check_cases(optimizer_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(reductions) { check_cases(reduction_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(matmul) { check_cases(matmul_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(conv2d) { check_cases(conv2d_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(batch_norm) { check_cases(batch_norm_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(pooling) { check_cases(pooling_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(resize) { check_cases(resize_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(softmax_and_cross_entropy) { check_cases(softmax_cross_entropy_cases(), kCpu); }
BOOST_AUTO_TEST_CASE(indexing) { check_cases(indexing_cases(), kCpu); }

BOOST_AUTO_TEST_CASE(bf16_cast) {
  // Round to nearest even (u = 2^-7 is bf16's spacing in [1, 2): ties go to the even mantissa), NaN
  // stays NaN, infinity stays; a large value is within half a spacing.
  double u = std::ldexp(1.0, -7);
  std::vector<double> in{1.0, 1 + u / 2, 1 + u * 1.5, 1 + u / 2 + u / 64, -1 - u * 1.5, 3.0e38, INFINITY, NAN, 0.0};
  std::vector<double> want{1.0, 1.0, 1 + 2 * u, 1 + u, -1 - 2 * u, 3.0e38, INFINITY, NAN, 0.0};
  Tensor x = ops::from_vector(in, {int64_t(in.size())});
  for (bool ref : {false, true}) {
    std::optional<ReferenceScope> scope;
    if (ref) scope.emplace();
    std::vector<double> got = ops::to_vector(ops::to(x, DType::BFloat16));
    for (size_t i = 0; i < in.size(); ++i) {
      if (std::isnan(want[i])) { BOOST_TEST(std::isnan(got[i])); continue; }
      if (i == 5) { BOOST_TEST(std::fabs(got[i] - want[i]) <= std::fabs(want[i]) * u / 2); continue; }
      BOOST_TEST(got[i] == want[i], (ref ? "reference" : "cpu") << " value " << i << ": " << got[i] << " vs " << want[i]);
    }
  }
}

// The fused op is exactly relu(batch_norm(x) + r) on the cpu backend too (the same arithmetic per element).
BOOST_AUTO_TEST_CASE(fused_batch_norm_relu_is_its_composition) {
  Tensor x = randn({2, 4, 3, 3}, DType::Float32, 29), r = randn(x.shape(), DType::Float32, 30);
  auto fused = ops::batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, r);
  auto plain = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  close(fused.y, ops::unary(ops::UnaryOp::Relu, ops::add(plain.y, r)), 1e-6, 1e-6, "fused vs composed on cpu");
}

// ReLU keeps NaN, as torch.relu does, on both backends and inside the fused batch norm, so a diverged
// activation reaches the loss (where `mdp train` stops) instead of turning into zeros.
BOOST_AUTO_TEST_CASE(relu_keeps_nan) {
  Tensor x = ops::from_vector({NAN, -1.0, 2.0, 0.0}, {1, 4, 1, 1});
  for (bool ref : {false, true}) {
    std::optional<ReferenceScope> scope;
    if (ref) scope.emplace();
    std::vector<double> y = ops::to_vector(ops::unary(ops::UnaryOp::Relu, x));
    BOOST_TEST(std::isnan(y[0]), (ref ? "reference" : "cpu"));
    BOOST_TEST(y[1] == 0.0);
    BOOST_TEST(y[2] == 2.0);
    Tensor batch = ops::from_vector({NAN, 1.0, 2.0, 3.0}, {4, 1, 1, 1});  // one channel: its statistics are NaN
    auto f = ops::batch_norm_relu(batch, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, Tensor());
    BOOST_TEST(std::isnan(ops::to_vector(f.y)[1]), (ref ? "reference" : "cpu") << " fused");
  }
}

BOOST_AUTO_TEST_CASE(mixed_precision_refusals) {
  BOOST_TEST(throws_with([] { ops::conv2d(ops::zeros({1, 1, 3, 3}), ops::zeros({1, 1, 1, 1}), Tensor(), {}, DType::BFloat16); },
                         {"conv2d", "bfloat16 result from float32 inputs"}));
  BOOST_TEST(throws_with([] { ops::matmul(ops::zeros({2, 2}, DType::BFloat16), ops::zeros({2, 2}, DType::BFloat16), false, false, DType::Float64); },
                         {"matmul", "float64 result from bfloat16"}));
}

BOOST_AUTO_TEST_SUITE_END()
