// Suite autocast: bf16 mixed precision (autograd/autocast.h). The guard's scope and thread-locality;
// conv2d/matmul under it return float32 and give float32 gradients; a small conv net's loss, logits and
// weight gradients under the guard are float32 and within 2e-2 (relative, L2 over each tensor) of the
// float32 run (3 seeds: 0.3-1.5e-2 measured), except the first conv's weight gradient: 8e-2 (it comes
// through the batch norm's backward, a difference of nearly equal sums, which magnifies the 2^-9
// relative rounding of its bf16 input gradient; 3.8-5.2e-2 measured); and the CPU backend's mixed-precision run matches the reference backend's to
// 1e-4 (both round the same operands to bf16 and differ by float32 vs double summation only; 1e-7
// measured).
#include <boost/test/unit_test.hpp>

#include <thread>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "tensor/backend.h"
#include "tests/autograd/small_conv_net.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(autocast)

BOOST_AUTO_TEST_CASE(guard_scope) {
  BOOST_TEST(!autocast_enabled());
  {
    AutocastGuard on(true);
    BOOST_TEST(autocast_enabled());
    BOOST_TEST(autocast_dtype() == DType::BFloat16);
    {
      AutocastGuard off(false);  // a float32 island
      BOOST_TEST(!autocast_enabled());
    }
    BOOST_TEST(autocast_enabled());
    bool other = true;
    std::thread([&] { other = autocast_enabled(); }).join();  // thread-local
    BOOST_TEST(!other);
  }
  BOOST_TEST(!autocast_enabled());
  BOOST_TEST(throws_with([] { AutocastGuard g(true, DType::Float64); }, {"AutocastGuard", "bfloat16", "float64"}));
}

BOOST_AUTO_TEST_CASE(ops_under_the_guard) {
  Tensor x = randn({2, 32, 6, 6}, DType::Float32, 1), w = randn({16, 32, 3, 3}, DType::Float32, 2);
  Tensor a = randn({5, 32}, DType::Float32, 3), b = randn({7, 32}, DType::Float32, 4);
  for (Tensor* t : {&x, &w, &a, &b}) t->set_requires_grad(true);
  Tensor y, m;
  {
    AutocastGuard on(true);
    y = conv2d(x, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});
    m = matmul(a, b, false, true);
  }
  BOOST_TEST(y.dtype() == DType::BFloat16);  // as torch.autocast: activations stay bf16 between convolutions
  BOOST_TEST(m.dtype() == DType::Float32);
  backward(add(sum(to(y, DType::Float32)), sum(m)));  // backward outside the guard: follows the recorded dtypes
  for (Tensor* t : {&x, &w, &a, &b}) {
    BOOST_TEST(t->dtype() == DType::Float32);
    BOOST_TEST(t->grad().dtype() == DType::Float32);
  }
  // The values are those of the bf16-rounded operands, summed in float32 (conv2d's then rounded to bf16).
  auto bf = [](const Tensor& t) { return ops::to(ops::to(t, DType::BFloat16), DType::Float32); };
  close(ops::to(y, DType::Float32), bf(ops::conv2d(bf(x), bf(w), Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1})), 1e-3, 1e-3,
        "conv2d under autocast");
  close(m, ops::matmul(bf(a), bf(b), false, true), 1e-3, 1e-3, "matmul under autocast");
  close(w.grad(), ops::conv2d_backward(ops::ones(y.shape()), bf(x), bf(w), {{1, 1}, {1, 1}, {1, 1}, 1}, false, true, false).dw,
        1e-2, 1e-3, "conv2d weight gradient under autocast");
  // Operands already bf16 get bf16 gradients; float64 is left alone by the guard.
  Tensor xb = ops::to(x, DType::BFloat16);
  xb.set_requires_grad(true);
  {
    AutocastGuard on(true);
    Tensor yb = conv2d(xb, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});
    BOOST_TEST(yb.dtype() == DType::BFloat16);
    backward(sum(to(yb, DType::Float32)));
    ReferenceScope ref;
    BOOST_TEST(matmul(ops::to(a, DType::Float64), ops::to(b, DType::Float64), false, true).dtype() == DType::Float64);
  }
  BOOST_TEST(xb.grad().dtype() == DType::BFloat16);
}

BOOST_AUTO_TEST_CASE(small_net_close_to_float32) {
  for (uint64_t seed : {5, 15, 25}) {
    Tensor x = randn({4, 3, 16, 16}, DType::Float32, seed);
    Generator g(seed);
    Tensor target = ops::randint(0, 10, {4}, DType::Int64, &g);
    SmallConvNet net(Device::cpu(), seed + 1);
    SmallConvNet::Run f32 = net.run(x, target), bf;
    {
      AutocastGuard on(true);
      bf = net.run(x, target);
    }
    BOOST_TEST(bf.loss.dtype() == DType::Float32);
    BOOST_TEST(bf.logits.dtype() == DType::Float32);
    double dl = rel_l2(bf.loss, f32.loss), dz = rel_l2(bf.logits, f32.logits);
    BOOST_TEST_MESSAGE("seed " << seed << ": autocast loss relative difference " << dl << ", logits " << dz);
    BOOST_TEST(dl < 2e-2);
    BOOST_TEST(dz < 2e-2);
    for (size_t i = 0; i < net.params.size(); ++i) {
      BOOST_TEST(net.params[i].dtype() == DType::Float32);
      BOOST_TEST(bf.grads[i].dtype() == DType::Float32);
      double e = rel_l2(bf.grads[i], f32.grads[i]);
      BOOST_TEST_MESSAGE("  parameter " << i << " gradient relative L2 difference " << e);
      BOOST_TEST(e < (i == 0 ? 8e-2 : 2e-2), "seed " << seed << " parameter " << i << " gradient differs by " << e);
    }
  }
}

BOOST_AUTO_TEST_CASE(small_net_cpu_vs_reference) {
  Tensor x = randn({2, 3, 12, 12}, DType::Float32, 7);
  Tensor target = ops::randint(0, 10, {2});
  SmallConvNet net(Device::cpu(), 8);
  SmallConvNet::Run fast, ref;
  {
    AutocastGuard on(true);
    fast = net.run(x, target);
    ReferenceScope scope;
    ref = net.run(x, target);
  }
  BOOST_TEST(rel_l2(fast.loss, ref.loss) < 1e-4);
  for (size_t i = 0; i < net.params.size(); ++i) {
    double e = rel_l2(fast.grads[i], ref.grads[i]);
    BOOST_TEST_MESSAGE("cpu vs reference, parameter " << i << " gradient relative L2 difference " << e);
    BOOST_TEST(e < 1e-4, "parameter " << i << " gradient differs by " << e);
  }
}

BOOST_AUTO_TEST_SUITE_END()
