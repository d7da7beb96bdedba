// run_scaling.h: the rule that scales MDP's two time constants, the key encoder's momentum m and the
// per-class queue length N, to a run's length, so that a short run behaves like the paper's long one.
// The paper's values (m = 0.999, N = 4096) belong to ~100 epochs of VOC + ADE20K at batch 16, about
// 220k iterations; on a run of a few thousand iterations m = 0.999 leaves the key encoder mostly at its
// random initialisation (0.999^600 = 55%) and a queue of 4096 spans the whole run. The rule:
//   key momentum  m = min(0.999, 0.01^(10 / iters)): the initial weights' share in the key encoder falls
//                 below 1% within the first tenth of the run;
//   queue length  N = clamp(round(iters * batch / 320), 8, 4096): a class present in a quarter of the
//                 images refills its queue every 1.25% of the run.
// Both give the paper's values at the paper's length (220k iterations at batch 16: m = 0.999 and
// N = 4096 after the caps), so the real-scale configs keep them.
#pragma once
#include <cstdint>

namespace mdp {

struct RunTimeConstants {
  double key_momentum = 0.999;
  int64_t queue_length = 4096;
};

RunTimeConstants scaled_to_run(int64_t iters, int64_t batch);

}  // namespace mdp
