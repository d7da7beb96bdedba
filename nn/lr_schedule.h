// lr_schedule.h: learning rate as a function of the iteration (0-based), computed as MMSegmentation's
// (mmcv's) LR updater hooks do: poly with power and min_lr, cosine, step; optional linear warmup that
// scales the regular rate by 1 - (1 - i / warmup_iters) * (1 - warmup_ratio) for i < warmup_iters.
#pragma once
#include <string>
#include <vector>

namespace mdp::nn {

struct LrScheduleConfig {
  std::string policy = "poly";  // poly | cosine | step | constant
  double base_lr = 0.01;
  double min_lr = 1e-4;         // poly and cosine
  double power = 0.9;           // poly
  int64_t max_iters = 1000;
  std::vector<int64_t> steps;   // step: the iterations where the rate is multiplied by gamma
  double gamma = 0.1;
  int64_t warmup_iters = 0;     // 0: no warmup
  double warmup_ratio = 0.1;
};

class LrSchedule {
 public:
  explicit LrSchedule(const LrScheduleConfig& c);  // throws naming an unknown policy or bad value
  double at(int64_t iter) const;

 private:
  LrScheduleConfig c_;
};

}  // namespace mdp::nn
