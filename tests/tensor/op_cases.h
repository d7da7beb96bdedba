// op_cases.h: the one table of backend-vs-reference cases, defined once (op_cases.cpp) and run against
// every fast backend: the CPU backend by tests/tensor/test_fast_vs_reference.cpp, the CUDA backend by
// tests/cuda/test_cuda_vs_reference.cpp. A case makes its inputs from fixed seeds, puts them on the
// device it is given (on()), makes its views there and returns its outputs; check_case() runs it on
// the backend's device, then on the CPU under the reference backend, and compares every output.
// Forward and backward, non-contiguous, broadcast, size-0 and size-1 shapes, float32, bfloat16 and
// float64 where the op takes them. What only one backend has (TF32 on CUDA, the CPU's bf16 cast
// rounding checked value by value) stays in that backend's suite.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace mdp::test {

struct Tolerance {
  double atol = 1e-5, rtol = 1e-4;
};

struct OpCase {
  std::string name;
  std::function<std::vector<Tensor>(Device)> run;
  Tolerance tol;
  // Where a backend rounds differently by design (cuDNN rounds mixed-precision results to bf16 before
  // the cast to float32; see cuda/conv2d.cpp), its own tolerance.
  std::optional<Tolerance> cuda_tol;
};

// The groups of the table, one test case each in both suites.
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> optimizer_cases();
std::vector<OpCase> reduction_cases();
std::vector<OpCase> matmul_cases();
std::vector<OpCase> conv2d_cases();
std::vector<OpCase> batch_norm_cases();      // batch_norm, batch_norm_relu (fused), long planes
std::vector<OpCase> pooling_cases();
std::vector<OpCase> resize_cases();
std::vector<OpCase> softmax_cross_entropy_cases();
std::vector<OpCase> indexing_cases();

// Runs c on `device` (its backend) and on the CPU's reference backend; every output must match in
// shape, dtype and value, and lie on `device`.
void check_case(const OpCase& c, Device device);
void check_cases(const std::vector<OpCase>& cases, Device device);

// t as dtype dt on device d, always a copy (a case may update its inputs in place).
Tensor on(const Tensor& t, Device d, std::optional<DType> dt = std::nullopt);

}  // namespace mdp::test
