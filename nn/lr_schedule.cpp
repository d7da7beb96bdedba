// lr_schedule.cpp: the schedule formulas.
#include "nn/lr_schedule.h"

#include <cmath>

#include "tensor/error.h"

namespace mdp::nn {

LrSchedule::LrSchedule(const LrScheduleConfig& c) : c_(c) {
  MDP_CHECK(c.policy == "poly" || c.policy == "cosine" || c.policy == "step" || c.policy == "constant",
            "lr schedule: unknown policy '{}' (poly, cosine, step, constant)", c.policy);
  MDP_CHECK(c.max_iters > 0, "lr schedule: max_iters must be positive, got {}", c.max_iters);
  MDP_CHECK(c.base_lr >= 0 && c.warmup_iters >= 0 && c.warmup_ratio >= 0 && c.warmup_ratio <= 1,
            "lr schedule: invalid base_lr {} / warmup_iters {} / warmup_ratio {}", c.base_lr, c.warmup_iters, c.warmup_ratio);
}

double LrSchedule::at(int64_t iter) const {
  double t = double(std::min(iter, c_.max_iters)), T = double(c_.max_iters), lr = c_.base_lr;
  if (c_.policy == "poly") {
    lr = (c_.base_lr - c_.min_lr) * std::pow(1 - t / T, c_.power) + c_.min_lr;
  } else if (c_.policy == "cosine") {
    lr = c_.min_lr + (c_.base_lr - c_.min_lr) * (1 + std::cos(M_PI * t / T)) / 2;
  } else if (c_.policy == "step") {
    for (int64_t s : c_.steps) if (iter >= s) lr *= c_.gamma;
  }
  if (iter < c_.warmup_iters) {
    double k = (1 - double(iter) / double(c_.warmup_iters)) * (1 - c_.warmup_ratio);
    lr *= 1 - k;
  }
  return lr;
}

}  // namespace mdp::nn
