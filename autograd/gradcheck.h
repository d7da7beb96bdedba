// gradcheck.h: compares the gradients of the autograd graph with central finite differences in
// float64, on the reference backend. Kink-aware: an element whose one-sided differences disagree (the
// function has a kink within eps of it, as ReLU at 0 or a max-pool tie) is skipped and counted.
#pragma once
#include <functional>
#include <string>

#include "node.h"

namespace mdp {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  int64_t checked = 0, skipped_kinks = 0;
  std::string message;  // the first mismatches: input, element, analytic, numeric
};

// f maps the inputs to any tensor; the checked scalar is sum(f(inputs) * w) for a fixed random w.
// Inputs must be float64 and are made to require grad; integer inputs are not allowed (close them over).
GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                          double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3);

}  // namespace mdp
