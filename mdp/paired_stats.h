// paired_stats.h: how paper-ablations turns runs into claims. For a claim "arm X beats arm Y" with runs of
// both arms on the same seeds, the per-seed differences d_s = x_s - y_s are summarised by their mean and
// a two-sided 95% Student-t confidence interval, mean +- t(0.975, n-1) * sd / sqrt(n). The verdict:
//   reproduced    the interval excludes 0 on the paper's side;
//   reversed      it excludes 0 on the other side;
//   inconclusive  it contains 0 (or n < 2: no interval).
// A claim of "no difference" (the paper's label unification: no gain) is "consistent" when the interval
// contains 0 and "differs" otherwise. Pairing removes what the seed does to both arms alike (the same
// initialisation and data order), which is why the same seeds are run for every arm.
#pragma once
#include <string>
#include <vector>

namespace mdp {

// The 0.975 quantile of Student's t with `dof` degrees of freedom (exact table to 30, a Cornish-Fisher
// expansion beyond, within 1e-3 of the true value).
double t_quantile_975(int dof);

enum class Expect { Better, NoDifference };

struct PairedDifference {
  int n = 0;                          // paired seeds
  double mean = 0, lo = 0, hi = 0;    // mean difference and its 95% interval (lo = hi = mean for n < 2)
  std::string verdict;                // reproduced | reversed | inconclusive | consistent | differs
};

// x[i], y[i]: the two arms' values on seed i (same length).
PairedDifference paired_difference(const std::vector<double>& x, const std::vector<double>& y, Expect expect = Expect::Better);

}  // namespace mdp
