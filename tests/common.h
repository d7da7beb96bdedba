// common.h: helpers shared by the test suites: closeness checks that explain themselves (first values
// of both tensors and the max difference), and random tensors.
#pragma once
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "tensor/ops.h"
#include "tensor/random.h"

namespace mdp {
inline std::ostream& operator<<(std::ostream& o, DType t) { return o << dtype_name(t); }
}  // namespace mdp

namespace mdp::test {

// Passes when |got - want| <= atol + rtol * |want| everywhere (NaN only matches NaN).
inline bool close(const Tensor& got, const Tensor& want, double atol, double rtol, const std::string& what) {
  if (got.shape() != want.shape()) {
    BOOST_ERROR(what << ": shape " << shape_str(got.shape()) << " vs expected " << shape_str(want.shape()));
    return false;
  }
  auto g = ops::to_vector(got), w = ops::to_vector(want);
  double max_diff = 0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
    double d = both_nan ? 0 : std::fabs(g[i] - w[i]);
    if (std::isnan(d)) d = INFINITY;
    if (d > max_diff) { max_diff = d; worst = i; }
    if (d > atol + rtol * std::fabs(w[i])) ++bad;
  }
  if (bad) {
    std::string first;
    for (size_t i = 0; i < std::min<size_t>(g.size(), 6); ++i) first += fmt::format(" ({:.6g} vs {:.6g})", g[i], w[i]);
    BOOST_ERROR(what << ": " << bad << " of " << g.size() << " elements differ; max |diff| " << max_diff
                     << " at " << worst << " (" << g[worst] << " vs " << w[worst] << "); first got vs expected:" << first);
    return false;
  }
  return true;
}

// The largest |a - b| over the elements (same number of elements).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = ops::to_vector(a), y = ops::to_vector(b);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

inline Tensor randn(const Shape& s, DType d = DType::Float32, uint64_t seed = 0) {
  Generator g(seed);
  return ops::randn(s, d, &g);
}

// True when f throws mdp::Error whose message contains every one of the given fragments.
template <class F>
bool throws_with(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string m = e.what();
    for (const auto& s : fragments)
      if (m.find(s) == std::string::npos) {
        BOOST_TEST_MESSAGE("message '" << m << "' lacks '" << s << "'");
        return false;
      }
    return true;
  }
  BOOST_TEST_MESSAGE("no exception thrown");
  return false;
}

}  // namespace mdp::test
