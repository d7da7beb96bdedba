// gradcheck.cpp: finite differences against backward().
#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/functions.h"
#include "tensor/backend.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace mdp {

GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs0, double eps,
                          double atol, double rtol) {
  ReferenceScope reference;
  TensorList inputs;
  for (const Tensor& t : inputs0) {
    MDP_CHECK(t.dtype() == DType::Float64, "gradcheck: inputs must be float64, got {}", dtype_name(t.dtype()));
    Tensor c = ops::clone(t);
    c.set_requires_grad(true);
    inputs.push_back(c);
  }
  Generator gen(1234);
  Tensor out = f(inputs);
  Tensor w = ops::randn(out.shape(), DType::Float64, &gen);
  auto scalar = [&](const TensorList& in) {
    NoGradGuard ng;
    return ops::sum(ops::mul(f(in), w)).item();
  };
  backward(sum(mul(out, w)));

  GradcheckResult r;
  int reported = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    Tensor analytic = x.grad().defined() ? ops::contiguous(x.grad()) : ops::zeros_like(x);
    double* p = x.data<double>();  // x is a contiguous clone
    for (int64_t i = 0; i < x.numel(); ++i) {
      double orig = p[i];
      double f0 = scalar(inputs);
      p[i] = orig + eps;
      double fp = scalar(inputs);
      p[i] = orig - eps;
      double fm = scalar(inputs);
      p[i] = orig;
      double numeric = (fp - fm) / (2 * eps);
      double right = (fp - f0) / eps, left = (f0 - fm) / eps;
      if (std::fabs(right - left) > 10 * (atol + rtol * std::fabs(numeric))) {
        r.skipped_kinks++;
        continue;
      }
      double a = analytic.data<double>()[i];
      double err = std::fabs(a - numeric);
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.checked++;
      if (err > atol + rtol * std::fabs(numeric)) {
        r.ok = false;
        if (reported++ < 5)
          r.message += fmt::format("input {} element {}: analytic {:.8g} numeric {:.8g}\n", k, i, a, numeric);
      }
    }
  }
  return r;
}

}  // namespace mdp
