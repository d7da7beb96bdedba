// threads.cpp: see threads.h.
#include "threads.h"

#include <omp.h>

#include "error.h"

namespace mdp {

void set_num_threads(int n) {
  MDP_CHECK(n >= 1, "set_num_threads: the thread count must be at least 1, got {}", n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace mdp
