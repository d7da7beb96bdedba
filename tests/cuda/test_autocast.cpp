// Suite autocast: bf16 mixed precision (autograd/autocast.h) on the GPU with tests/autograd's small
// conv net: under the guard, the loss, logits and parameter gradients are float32 and within 2e-2
// (relative L2; the first conv's weight gradient 8e-2, see tests/autograd/test_autocast.cpp) of the
// GPU float32 run, and within 2e-2 of the CPU backend's autocast run (cuDNN rounds conv outputs and
// gradients to bf16 before the float32 cast, oneDNN does not: one bf16 rounding apart).
#include <boost/test/unit_test.hpp>

#include "autograd/autocast.h"
#include "cuda/cuda_backend.h"
#include "tests/autograd/small_conv_net.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(autocast)

BOOST_AUTO_TEST_CASE(small_net) {
  cuda::set_allow_tf32(false);
  const Device gpu = Device::cuda(0);
  Tensor x = randn({4, 3, 16, 16}, DType::Float32, 5);
  Tensor target = ops::randint(0, 10, {4});
  SmallConvNet cpu_net(Device::cpu(), 6), gpu_net(gpu, 6);
  Tensor xg = ops::to(x, gpu), tg = ops::to(target, gpu);
  SmallConvNet::Run f32 = gpu_net.run(xg, tg), bf, cpu_bf;
  {
    AutocastGuard on(true);
    bf = gpu_net.run(xg, tg);
    cpu_bf = cpu_net.run(x, target);
  }
  BOOST_TEST(bf.loss.dtype() == DType::Float32);
  BOOST_TEST(bf.loss.device().is_cuda());
  BOOST_TEST(rel_l2(bf.loss, f32.loss) < 2e-2);
  BOOST_TEST(rel_l2(bf.logits, f32.logits) < 2e-2);
  BOOST_TEST(rel_l2(bf.logits, cpu_bf.logits) < 2e-2);
  for (size_t i = 0; i < gpu_net.params.size(); ++i) {
    BOOST_TEST(bf.grads[i].dtype() == DType::Float32);
    double e = rel_l2(bf.grads[i], f32.grads[i]), c = rel_l2(bf.grads[i], cpu_bf.grads[i]);
    BOOST_TEST_MESSAGE("parameter " << i << ": vs GPU float32 " << e << ", vs CPU autocast " << c);
    BOOST_TEST(e < (i == 0 ? 8e-2 : 2e-2), "parameter " << i << " gradient differs from float32 by " << e);
    BOOST_TEST(c < (i == 0 ? 8e-2 : 2e-2), "parameter " << i << " gradient differs from the CPU's by " << c);
  }
}

BOOST_AUTO_TEST_SUITE_END()
