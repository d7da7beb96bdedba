// threads.h: how many CPU threads the CPU backend's ops use (its OpenMP loops and oneDNN's primitives,
// which share OpenMP's pool). The setting is per process, as torch.set_num_threads; data loader workers
// are separate threads (data/loader.h). Deliberately not here: thread pinning or NUMA placement.
#pragma once

namespace mdp {

void set_num_threads(int n);  // n >= 1, checked
int num_threads();

}  // namespace mdp
