// run_scaling.cpp: the rule of run_scaling.h.
#include "mdp/run_scaling.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace mdp {

RunTimeConstants scaled_to_run(int64_t iters, int64_t batch) {
  MDP_CHECK(iters > 0 && batch > 0, "scaled_to_run: iterations ({}) and batch ({}) must be positive", iters, batch);
  RunTimeConstants r;
  r.key_momentum = std::min(0.999, std::pow(0.01, 10.0 / double(iters)));
  r.queue_length = std::clamp<int64_t>(std::llround(double(iters) * double(batch) / 320.0), 8, 4096);
  return r;
}

}  // namespace mdp
