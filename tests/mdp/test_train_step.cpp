// Suite train_step: mdp::TrainStep, one supervised iteration as `mdp train` runs it: it learns a fixed
// batch, accumulation over micro-batches steps once with the mean of their gradients, a non-finite loss
// (a NaN image reaches the loss: ReLU keeps NaN, as torch.relu) is refused before anything is stepped, and
// an empty iteration is an error.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "mdp/mdp_net.h"
#include "mdp/train_step.h"
#include "tensor/error.h"
#include "tests/common.h"

using namespace mdp;
using mdp::test::throws_with;

namespace {
nn::DeepLabV3Config small_model() {
  return {.layout = nn::SegLayout::MMSeg,
          .backbone = {.depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.125, .include_top = false},
          .num_classes = 3, .aux_head = true, .channels = 16};
}

// Labels a network at output stride 8 can learn from the pixels: images of 8x8 blocks, class 1 where
// channel 0 is above 0.5, 2 below -0.5, else 0.
data::Batch batch_of(uint64_t seed, int64_t n = 2) {
  data::Batch b;
  b.images = ops::resize_nearest(test::randn({n, 3, 4, 4}, DType::Float32, seed), 32, 32);  // (N, 3, H, W)
  Tensor c0 = ops::select(b.images, 1, 0);                        // (N, H, W)
  b.labels = ops::to(ops::add(ops::to(ops::compare(ops::CompareOp::Gt, c0, 0.5), DType::Int64),
                              ops::mul(ops::to(ops::compare(ops::CompareOp::Lt, c0, -0.5), DType::Int64), 2.0)),
                     DType::Int64);
  b.paths.assign(size_t(n), "x");
  return b;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(train_step)

BOOST_AUTO_TEST_CASE(learns_a_fixed_batch) {
  manual_seed(3);
  nn::DeepLabV3 model(small_model());
  model.train();
  nn::AdamW opt(nn::make_param_groups(model), nn::AdamWOptions{.lr = 1e-2, .weight_decay = 0.0});
  TrainStep step(model, opt, {.aux_weight = 0.4, .grad_clip = 10});
  std::vector<data::Batch> batches{batch_of(1)};
  double first = 0, last = 0;
  for (int64_t it = 1; it <= 30; ++it) {
    TrainStepResult r = step.run(batches, 1e-2, it);
    BOOST_TEST(r.images == 2);
    BOOST_TEST(std::isfinite(r.loss));
    if (it == 1) first = r.loss;
    last = r.loss;
  }
  BOOST_TEST(last < 0.8 * first, "loss " << first << " -> " << last);
  BOOST_TEST(opt.lr() == 1e-2);
}

BOOST_AUTO_TEST_CASE(accumulation_averages_the_micro_batches) {
  // Two micro-batches: the step's gradient is the mean of theirs (model in eval mode, so batch norm
  // uses running statistics and each image's loss does not depend on the rest of its batch).
  manual_seed(4);
  nn::DeepLabV3 a(small_model()), b(small_model());
  copy_weights(b, a);
  a.eval();
  b.eval();
  nn::SGD oa(nn::make_param_groups(a), nn::SGDOptions{.lr = 0.1, .momentum = 0.0, .weight_decay = 0.0});
  nn::SGD ob(nn::make_param_groups(b), nn::SGDOptions{.lr = 0.1, .momentum = 0.0, .weight_decay = 0.0});
  TrainStep sa(a, oa, {}), sb(b, ob, {});
  data::Batch x = batch_of(5, 1), y = batch_of(6, 1), both = batch_of(5, 2);
  both.images = ops::cat({x.images, y.images}, 0);
  both.labels = ops::cat({x.labels, y.labels}, 0);
  TrainStepResult ra = sa.run({x, y}, 0.1, 1), rb = sb.run({both}, 0.1, 1);
  BOOST_TEST(ra.images == 2);
  BOOST_TEST(std::fabs(ra.loss - rb.loss) < 1e-5 * std::fabs(rb.loss) + 1e-6);
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    BOOST_TEST(test::close(pa[i].second, pb[i].second, 1e-6, 1e-4, pa[i].first), pa[i].first);
}

BOOST_AUTO_TEST_CASE(refusals) {
  manual_seed(5);
  nn::DeepLabV3 model(small_model());
  nn::SGD opt(nn::make_param_groups(model), nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.0});
  TrainStep step(model, opt, {});
  BOOST_TEST(throws_with([&] { step.run({}, 0.1, 7); }, {"no batch for iteration 7"}));
  data::Batch bad = batch_of(1);
  bad.images = ops::full({2, 3, 32, 32}, NAN);
  Tensor before = ops::clone(model.named_parameters().front().second);
  try {
    TrainStepResult r = step.run({bad}, 0.1, 12);
    BOOST_ERROR("no error; loss " << r.loss);
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("the loss became nan at iteration 12") != std::string::npos, e.what());
  }
  BOOST_TEST(test::close(model.named_parameters().front().second, before, 0, 0, "unchanged"));
}

BOOST_AUTO_TEST_SUITE_END()
