// Suite mdp_net: the projection head (mdp/mdp_net.h). Its embeddings have unit length; with embed_bn a
// direction every pixel shares (here: a bias added to the last convolution) leaves them unchanged, while
// without it the same bias moves them; embed_bn adds buffers only, so the parameter names, and with them
// checkpoints and the momentum update, stay those of the plain head.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "mdp/mdp_net.h"
#include "tests/common.h"

using namespace mdp;

namespace {
using test::max_abs_diff;

// The largest |1 - length| over the pixels of (N, D, h, w) embeddings.
double worst_unit_length_error(const Tensor& z) {
  const int64_t N = z.size(0), D = z.size(1), P = z.size(2) * z.size(3);
  std::vector<double> v = ops::to_vector(z);
  double worst = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += v[size_t((n * D + d) * P + p)] * v[size_t((n * D + d) * P + p)];
      worst = std::max(worst, std::fabs(1 - std::sqrt(s)));
    }
  return worst;
}

// Adds `shift` to every element of the head's last convolution's bias (proj.3.bias), in place.
void shift_last_bias(nn::Module& head, double shift) {
  for (auto& [name, t] : head.named_parameters())
    if (name == "proj.3.bias") ops::copy_(t, ops::add(t, shift));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(mdp_net)

BOOST_AUTO_TEST_CASE(embed_bn_removes_a_direction_every_pixel_shares) {
  manual_seed(1);
  Tensor x = ops::randn({2, 8, 3, 3});
  for (bool embed_bn : {false, true}) {
    BOOST_TEST_CONTEXT("embed_bn " << embed_bn) {
      manual_seed(2);
      ProjectionHead head(8, 4, embed_bn);
      Tensor z = head(x);  // training mode: batch statistics
      BOOST_TEST((z.shape() == Shape{2, 4, 3, 3}));
      BOOST_TEST(worst_unit_length_error(z) < 1e-5);
      shift_last_bias(head, 3.0);
      const double moved = max_abs_diff(head(x), z);
      if (embed_bn) BOOST_TEST(moved < 1e-5);
      else BOOST_TEST(moved > 0.05);
    }
  }
}

BOOST_AUTO_TEST_CASE(embed_bn_adds_buffers_not_parameters) {
  ProjectionHead plain(8, 4), bn(8, 4, true);
  auto p = plain.named_parameters(), q = bn.named_parameters();
  BOOST_REQUIRE(p.size() == q.size());
  for (size_t i = 0; i < p.size(); ++i) BOOST_TEST(p[i].first == q[i].first);
  bool has_running_mean = false;
  for (auto& [name, t] : bn.state_dict()) has_running_mean |= name == "proj.4.running_mean";
  BOOST_TEST(has_running_mean);
}

BOOST_AUTO_TEST_SUITE_END()
