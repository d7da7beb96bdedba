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

// The same with the fused residual add and ReLU (BatchNorm2d::forward_relu, what ResNet blocks call), in
// float32 and bf16: outputs, the input's and the residual's gradients, the summed parameter gradients.
BOOST_AUTO_TEST_CASE(sync_batchnorm_relu_with_residual_equals_batchnorm_over_the_whole_batch) {
  ProcessGroup& g = world();
  const int W = g.size(), r = g.rank();
  const int64_t per = 3, C = 4;
  for (DType dt : {DType::Float32, DType::BFloat16}) {
    BOOST_TEST_CONTEXT(dtype_name(dt)) {
      const double tol = dt == DType::Float32 ? 1e-4 : 3e-2;
      Tensor whole = ops::to(test::randn({per * W, C, 4, 5}, DType::Float32, 21), dt);
      Tensor res = ops::to(test::randn({per * W, C, 4, 5}, DType::Float32, 22), dt);
      Tensor dy = ops::to(test::randn({per * W, C, 4, 5}, DType::Float32, 23), dt);
      BatchNorm2d ref(C), syn(C);
      for (auto* bn : {&ref, &syn}) {
        ops::copy_(bn->weight, test::randn({C}, DType::Float32, 24));
        ops::copy_(bn->bias, test::randn({C}, DType::Float32, 25));
      }
      convert_sync_batchnorm(syn);
      Tensor xr = detach(ops::clone(whole)), rr = detach(ops::clone(res));
      xr.set_requires_grad(true);
      rr.set_requires_grad(true);
      Tensor yr = ref.forward_relu(xr, rr);
      backward(sum(mul(to(yr, DType::Float32), to(dy, DType::Float32))));

      auto share = [&](const Tensor& t) { return detach(ops::contiguous(ops::narrow(t, 0, r * per, per))); };
      Tensor mine = share(whole), my_res = share(res);
      mine.set_requires_grad(true);
      my_res.set_requires_grad(true);
      Tensor y = syn.forward_relu(mine, my_res);
      BOOST_TEST((y.dtype() == dt));
      backward(sum(mul(to(y, DType::Float32), to(share(dy), DType::Float32))));
      auto f32 = [](const Tensor& t) { return ops::to(t, DType::Float32); };
      BOOST_TEST(test::close(f32(y), f32(ops::narrow(yr, 0, r * per, per)), tol, tol, "output"));
      BOOST_TEST(test::close(f32(mine.grad()), f32(ops::narrow(xr.grad(), 0, r * per, per)), tol, tol, "input gradient"));
      BOOST_TEST(test::close(f32(my_res.grad()), f32(ops::narrow(rr.grad(), 0, r * per, per)), tol, tol, "residual gradient"));
      Tensor dw = ops::contiguous(ops::clone(syn.weight.grad())), db = ops::contiguous(ops::clone(syn.bias.grad()));
      g.all_reduce_sum(dw);
      g.all_reduce_sum(db);
      BOOST_TEST(test::close(dw, ref.weight.grad(), 10 * tol, 10 * tol, "weight gradient (summed over ranks)"));
      BOOST_TEST(test::close(db, ref.bias.grad(), 10 * tol, 10 * tol, "bias gradient (summed over ranks)"));
    }
  }
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
  GradientReducer reducer(l, g, {16, 16});  // 16 bytes: one bucket per tensor, never split
  for (bool armed : {false, true}) {    // all-reduces started in finish(), then from the hooks during backward
    l.weight.set_grad(Tensor());
    l.bias.set_grad(Tensor());
    if (armed) reducer.prepare_for_backward();
    Tensor x = ops::full({2, 8}, double(r + 1));
    backward(sum(l(x)));  // d/dbias = 2 on every rank, d/dweight = 2 (r + 1)
    GradientSyncStats s = reducer.finish();
    if (W > 1) {
      BOOST_TEST(s.buckets == 2);
      BOOST_TEST(s.started_during_backward == (armed ? 2 : 0));
    }
    BOOST_TEST(ops::to_vector(l.bias.grad())[0] == 2.0);
    double mean_weight_grad = 0;
    for (int q = 0; q < W; ++q) mean_weight_grad += 2.0 * (q + 1) / W;
    BOOST_TEST(std::fabs(ops::to_vector(l.weight.grad())[5] - mean_weight_grad) < 1e-6);
  }
}

// A layer only rank 0 uses counts as a zero gradient on the others; one no rank uses keeps no gradient;
// every other gradient equals the whole batch's in one process, with SyncBN's all-reduces inside the same
// backward pass and buckets that start during it on rank 0 only. (That the buckets use a communicator of
// their own is what keeps this within the MPI standard; OpenMPI would also tolerate a shared one, since its
// blocking and non-blocking collectives do not match each other, so this test cannot see the difference.)
BOOST_AUTO_TEST_CASE(unused_parameters_and_graphs_that_differ_between_ranks) {
  ProcessGroup& g = world();
  const int W = g.size(), r = g.rank();
  struct Net : Module {
    // Registered in this order, so the buckets (reverse order) are sometimes, used, bn, never: on rank 0 the
    // first four start during backward before SyncBN's backward all-reduce, on the other ranks none does.
    std::shared_ptr<Linear> never = register_module("never", std::make_shared<Linear>(4, 3));
    std::shared_ptr<BatchNorm2d> bn = register_module("bn", std::make_shared<BatchNorm2d>(4));
    std::shared_ptr<Linear> used = register_module("used", std::make_shared<Linear>(4, 3));
    std::shared_ptr<Linear> sometimes = register_module("sometimes", std::make_shared<Linear>(4, 3));
    Tensor features(const Tensor& x) { return reshape((*bn)(x), {x.size(0), x.size(1)}); }  // (N, 4)
    Tensor forward(const Tensor& x) override { return (*used)(features(x)); }
    const char* type_name() const override { return "Net"; }
  };
  // Rank q's batch: two rows of random inputs, the same on every rank (seeded by q).
  auto batch_of = [](int q) { return test::randn({2, 4, 1, 1}, DType::Float32, uint64_t(20 + q)); };
  // The reference in one process: the whole batch through ordinary batch norm, rank 0's rows also
  // through `sometimes`; the gradients of the mean of the ranks' losses.
  manual_seed(7);
  Net ref;
  {
    std::vector<Tensor> all;
    for (int q = 0; q < W; ++q) all.push_back(batch_of(q));
    Tensor h = ref.features(ops::cat(all, 0));  // (2 W, 4)
    Tensor loss = add(sum((*ref.used)(h)), sum(mul((*ref.sometimes)(narrow(h, 0, 0, 2)), 2.0)));
    backward(mul(loss, 1.0 / W));
  }
  manual_seed(7);
  Net net;
  convert_sync_batchnorm(net);
  broadcast_parameters(net, g);
  GradientReducer reducer(net, g, {16, 16});
  reducer.prepare_for_backward();
  Tensor h = net.features(batch_of(r));
  Tensor loss = sum((*net.used)(h));
  if (r == 0) loss = add(loss, sum(mul((*net.sometimes)(h), 2.0)));  // rank 0's graph has more nodes
  backward(loss);
  GradientSyncStats s = reducer.finish();
  if (W > 1) BOOST_TEST(s.started_during_backward == (r == 0 ? 6 : 0));
  BOOST_TEST(!net.never->weight.grad().defined());
  BOOST_TEST(!net.never->bias.grad().defined());
  NamedTensors mine = net.named_parameters(), want = ref.named_parameters();
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i].first.rfind("never", 0) == 0) continue;
    BOOST_TEST(test::close(mine[i].second.grad(), want[i].second.grad(), 1e-5, 1e-4, mine[i].first), mine[i].first);
  }
}

BOOST_AUTO_TEST_SUITE_END()
