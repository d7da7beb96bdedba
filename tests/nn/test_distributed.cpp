// Suite distributed: the MPI world's collectives, the differentiable all-reduce, synchronised batch norm
// against ordinary batch norm over the whole batch, bucketed gradient averaging and the parameter
// broadcast. Its own executable, run by CTest under `mpirun -np 2` (nn/distributed_2_ranks); started
// alone it runs as a world of one, where the same checks hold trivially.
#define BOOST_TEST_MODULE distributed
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "nn/data_parallel.h"
#include "nn/distributed.h"
#include "nn/layers.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::nn;

struct World {
  World() { init_distributed(); }
  ~World() { shutdown_distributed(); }
};
BOOST_TEST_GLOBAL_FIXTURE(World);

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_AUTO_TEST_CASE(collectives) {
  ProcessGroup& g = world();
  const int r = g.rank(), W = g.size();
  BOOST_TEST_MESSAGE("rank " << r << " of " << W << " (" << g.backend() << ")");
  Tensor x = ops::full({3}, double(r + 1));
  g.all_reduce_sum(x);
  BOOST_TEST(ops::to_vector(x)[2] == double(W * (W + 1) / 2));
  Tensor b = ops::full({2}, double(10 + r), DType::Int64);
  g.broadcast(b, 0);
  BOOST_TEST(ops::to_vector(b)[1] == 10.0);
  Tensor rows = ops::full({r + 1, 2}, double(r));  // rank r contributes r + 1 rows of r
  Tensor all = g.all_gather(rows);
  BOOST_TEST(all.size(0) == int64_t(W * (W + 1) / 2));
  std::vector<double> v = ops::to_vector(all);
  BOOST_TEST(v.back() == double(W - 1));
  BOOST_TEST(v.front() == 0.0);
  g.barrier();
}

BOOST_AUTO_TEST_CASE(differentiable_all_reduce_sums_the_gradients) {
  ProcessGroup& g = world();
  Tensor x = ops::full({2}, 1.0);
  x.set_requires_grad(true);
  Tensor y = all_reduce_sum_differentiable(x);
  backward(sum(mul(y, double(g.rank() + 1))));  // rank r's loss weighs the sum by r + 1
  // d(sum_r (r + 1) sum(y)) / dx_r' = sum_r (r + 1) for every rank r'
  BOOST_TEST(ops::to_vector(x.grad())[0] == double(g.size() * (g.size() + 1) / 2));
}

// Each rank holds its share of one batch of 4 W images; synchronised BN on the shares gives what
// ordinary BN gives on the whole batch: outputs, input gradients, the summed parameter gradients and the
// running statistics.
BOOST_AUTO_TEST_CASE(sync_batchnorm_equals_batchnorm_over_the_whole_batch) {
  ProcessGroup& g = world();
  const int W = g.size(), r = g.rank();
  const int64_t per = 4, C = 3;
  Tensor whole = test::randn({per * W, C, 5, 6}, DType::Float32, 11);  // the same on every rank
  Tensor dy = test::randn({per * W, C, 5, 6}, DType::Float32, 12);
  BatchNorm2d ref(C), syn(C);
  for (auto* bn : {&ref, &syn}) {
    ops::copy_(bn->weight, test::randn({C}, DType::Float32, 13));
    ops::copy_(bn->bias, test::randn({C}, DType::Float32, 14));
  }
  convert_sync_batchnorm(syn);
  BOOST_TEST(syn.sync_stats);
  Tensor xr = detach(ops::clone(whole));
  xr.set_requires_grad(true);
  backward(sum(mul(ref.forward(xr), dy)));

  Tensor mine = detach(ops::contiguous(ops::narrow(whole, 0, r * per, per)));
  mine.set_requires_grad(true);
  Tensor y = syn.forward(mine);
  backward(sum(mul(y, ops::narrow(dy, 0, r * per, per))));
  BOOST_TEST(test::close(y, ops::narrow(ref.forward(xr), 0, r * per, per), 1e-5, 1e-4, "output"));
  BOOST_TEST(test::close(mine.grad(), ops::narrow(xr.grad(), 0, r * per, per), 1e-5, 1e-4, "input gradient"));
  Tensor dw = ops::contiguous(ops::clone(syn.weight.grad())), db = ops::contiguous(ops::clone(syn.bias.grad()));
  g.all_reduce_sum(dw);
  g.all_reduce_sum(db);
  BOOST_TEST(test::close(dw, ref.weight.grad(), 1e-4, 1e-4, "weight gradient (summed over ranks)"));
  BOOST_TEST(test::close(db, ref.bias.grad(), 1e-4, 1e-4, "bias gradient (summed over ranks)"));
  // ref ran forward twice (two batches counted), syn once: compare syn with one more ordinary pass
  BatchNorm2d once(C);
  once.forward(whole);
  BOOST_TEST(test::close(syn.running_mean, once.running_mean, 1e-6, 1e-5, "running mean"));
  BOOST_TEST(test::close(syn.running_var, once.running_var, 1e-6, 1e-5, "running var"));
}

BOOST_AUTO_TEST_CASE(gradients_are_averaged_in_buckets_and_parameters_broadcast) {
  ProcessGroup& g = world();
  const int W = g.size(), r = g.rank();
  manual_seed(uint64_t(100 + r));  // different initial weights on every rank
  Linear l(8, 4);
  broadcast_parameters(l, g);
  Tensor w0 = ops::clone(l.weight);
  g.all_reduce_sum(w0);
  BOOST_TEST(test::close(w0, ops::mul(l.weight, double(W)), 1e-6, 1e-6, "the same weights on every rank"));
  Tensor x = ops::full({2, 8}, double(r + 1));
  backward(sum(l(x)));  // d/dbias = 2 on every rank, d/dweight = 2 (r + 1)
  GradientSyncStats s = average_gradients(l, g, {16});  // 16 bytes: one bucket per tensor, never split
  if (W > 1) BOOST_TEST(s.buckets == 2);
  BOOST_TEST(ops::to_vector(l.bias.grad())[0] == 2.0);
  double mean_weight_grad = 0;
  for (int q = 0; q < W; ++q) mean_weight_grad += 2.0 * (q + 1) / W;
  BOOST_TEST(std::fabs(ops::to_vector(l.weight.grad())[5] - mean_weight_grad) < 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
