// swish.cpp: adding a differentiable op from outside the library, end to end, as the library's own ops
// are built (tensor/ops.h, autograd/functions.cpp, tests/): swish(x) = x * sigmoid(x) with
//   1. a reference implementation: a plain loop in double, the truth the others are checked against;
//   2. a fast CPU implementation: a float32 loop over contiguous memory, parallel with OpenMP;
//   3. autograd: the op records a node whose backward is d swish / dx = s + x s (1 - s), s = sigmoid(x);
//   4. a test: CPU against the reference (forward and backward) and the gradient against central finite
//      differences in float64 (mdp::gradcheck). Exit status 0 when every check passes.
// What it is not: a change to the library's backend op table (tensor/backend.h), which an op inside the
// library would get, with a CUDA kernel beside the CPU one; here the op dispatches on dtype itself.
#include <mdp/autograd/engine.h>
#include <mdp/autograd/functions.h>
#include <mdp/autograd/gradcheck.h>
#include <mdp/tensor/ops.h>
#include <mdp/tensor/random.h>

#include <cmath>
#include <cstdio>

using namespace mdp;

// 1. Reference: any dtype in, computed in double, returned in the input's dtype.
Tensor swish_reference(const Tensor& x) {
  Tensor xd = ops::contiguous(ops::to(x, DType::Float64)), y = ops::empty(x.shape(), DType::Float64);
  const double* in = xd.data<double>();
  double* out = y.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] / (1.0 + std::exp(-in[i]));
  return ops::to(y, x.dtype());
}

// 2. CPU: float32, one pass over contiguous memory.
Tensor swish_cpu(const Tensor& x) {
  Tensor xc = ops::contiguous(x), y = ops::empty(x.shape(), DType::Float32);
  const float* in = xc.data<float>();
  float* out = y.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] / (1.0f + std::exp(-in[i]));
  return y;
}

Tensor swish_forward(const Tensor& x) { return x.dtype() == DType::Float32 ? swish_cpu(x) : swish_reference(x); }

// 3. Autograd: forward with raw ops, then record the backward closure (it keeps x alive).
Tensor swish(const Tensor& x) {
  Tensor y = swish_forward(x);
  record("swish", {x}, {y}, [x](const TensorList& g) -> TensorList {
    Tensor s = ops::unary(ops::UnaryOp::Sigmoid, x);                        // (same shape as x)
    Tensor ds = ops::add(s, ops::mul(ops::mul(x, s), ops::sub(ops::ones(s.shape(), s.dtype()), s)));
    return {ops::mul(g[0], ds)};
  });
  return y;
}

// 4. The test.
int main() {
  manual_seed(0);
  int failed = 0;
  auto check = [&](bool ok, const char* what, double err) {
    std::printf("%-44s %s (max error %.2e)\n", what, ok ? "ok" : "FAILED", err);
    failed += !ok;
  };
  auto max_abs = [](const Tensor& t) { return ops::reduce(ops::ReduceOp::Max, ops::unary(ops::UnaryOp::Abs, t), {}, false).item(); };
  Tensor x = ops::mul(ops::randn({4, 3, 17, 19}), 3.0);  // float32, values across the curve
  double fwd = max_abs(ops::sub(swish_cpu(x), swish_reference(x)));
  check(fwd < 1e-5, "forward: CPU float32 against the reference", fwd);

  Tensor xa = ops::contiguous(ops::mul(x, 1.0)), xb = ops::to(x, DType::Float64);  // two leaves
  xa.set_requires_grad(true);
  xb.set_requires_grad(true);
  Tensor w = ops::randn(x.shape());
  backward(sum(mul(swish(xa), w)));
  backward(sum(mul(swish(xb), ops::to(w, DType::Float64))));
  double bwd = max_abs(ops::sub(ops::to(xa.grad(), DType::Float64), xb.grad()));
  check(bwd < 1e-4, "backward: float32 against float64", bwd);

  GradcheckResult gc = gradcheck([](const TensorList& in) { return swish(in[0]); },
                                 {ops::to(ops::randn({2, 3, 5, 5}), DType::Float64)});
  check(gc.ok, "backward against finite differences (float64)", gc.max_abs_error);
  if (!gc.ok) std::printf("%s\n", gc.message.c_str());
  std::printf("%s\n", failed ? "swish: some checks FAILED" : "swish: all checks passed");
  return failed ? 1 : 0;
}
