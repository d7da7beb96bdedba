// paired_stats.cpp: the paired-difference interval and verdict of paired_stats.h.
#include "mdp/paired_stats.h"

#include <cmath>

#include "tensor/error.h"

namespace mdp {

double t_quantile_975(int dof) {
  MDP_CHECK(dof >= 1, "t_quantile_975: degrees of freedom must be at least 1, got {}", dof);
  static const double table[30] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                   2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                   2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (dof <= 30) return table[dof - 1];
  const double z = 1.959963985, v = dof, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

PairedDifference paired_difference(const std::vector<double>& x, const std::vector<double>& y, Expect expect) {
  MDP_CHECK(x.size() == y.size(), "paired_difference: {} values against {} (the same seeds are needed)", x.size(), y.size());
  PairedDifference r;
  r.n = int(x.size());
  if (r.n == 0) {
    r.verdict = "inconclusive";
    r.mean = r.lo = r.hi = std::nan("");
    return r;
  }
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += x[i] - y[i];
  r.mean = sum / r.n;
  r.lo = r.hi = r.mean;
  if (r.n >= 2) {
    double ss = 0;
    for (size_t i = 0; i < x.size(); ++i) ss += (x[i] - y[i] - r.mean) * (x[i] - y[i] - r.mean);
    double half = t_quantile_975(r.n - 1) * std::sqrt(ss / (r.n - 1)) / std::sqrt(double(r.n));
    r.lo = r.mean - half;
    r.hi = r.mean + half;
  }
  const bool excludes_zero = r.n >= 2 && (r.lo > 0 || r.hi < 0);
  if (expect == Expect::NoDifference) r.verdict = r.n < 2 ? "inconclusive" : excludes_zero ? "differs" : "consistent";
  else r.verdict = !excludes_zero ? "inconclusive" : r.lo > 0 ? "reproduced" : "reversed";
  return r;
}

}  // namespace mdp
