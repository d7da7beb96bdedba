// Suite model_parity: ResNet-50 (eval logits) and DeepLabV3-ResNet50 (train-mode output and loss, every
// parameter's gradient, then every parameter and buffer after 3 SGD steps) on CUDA against the CPU
// backend, from the same weights (nn init, seed 0) and inputs (2x3x64x64), float32 with TF32 off.
// Tolerances, as tests/nn/test_torchvision_parity.cpp does against PyTorch: the truth is the same run in
// float64 on the GPU (cuDNN and cuBLAS in double); per tensor, CUDA's float32 error ||x - truth|| /
// ||truth|| must be within 3x the CPU backend's float32 error, or within a floor (1e-5 for tensors, 2e-3
// for a scalar). A train-mode DeepLabV3 amplifies float32 rounding a lot (batch norm over 2x8x8 pixels:
// PyTorch's own float32 gradients are 2% off its float64 ones), so a fixed tolerance would be either
// loose or flaky; the well-conditioned quantities (eval logits, first loss) are also compared directly,
// CUDA float32 vs CPU float32 within 1e-4 relative.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>

#include "cuda/cuda_backend.h"
#include "nn/deeplabv3.h"
#include "nn/optimizer.h"
#include "tensor/random.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::nn;
using namespace mdp::test;

namespace {
const Device kGpu = Device::cuda(0);
constexpr double kFactor = 3.0, kFloor = 1e-5, kScalarFloor = 2e-3, kDirect = 1e-4;

using Trace = std::map<std::string, Tensor>;  // name -> float64 CPU copy

Tensor host64(const Tensor& t) { return ops::to(ops::to(t, Device::cpu()), DType::Float64); }

double rel(const Tensor& got, const Tensor& truth) {
  auto g = ops::to_vector(got), r = ops::to_vector(truth);
  double num = 0, den = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    num += (g[i] - r[i]) * (g[i] - r[i]);
    den += r[i] * r[i];
  }
  return std::sqrt(num) / (den > 0 ? std::sqrt(den) : 1.0);
}

// A model of type M with the state of init, in dtype dt on device d.
template <class M, class Cfg>
std::shared_ptr<M> copy_of(const M& init, const Cfg& cfg, DType dt, Device d) {
  auto m = std::make_shared<M>(cfg);
  auto src = init.state_dict();
  auto dst = m->state_dict();
  BOOST_REQUIRE_EQUAL(src.size(), dst.size());
  for (size_t i = 0; i < src.size(); ++i) ops::copy_(dst[i].second, src[i].second);
  m->to(dt);
  m->to(d);
  return m;
}

// Every tensor of gpu32 against the truth (gpu64), next to cpu32's error.
void within_cpu_error(const Trace& gpu32, const Trace& cpu32, const Trace& gpu64) {
  BOOST_REQUIRE_EQUAL(gpu32.size(), gpu64.size());
  int worst_ratio_n = 0;
  double worst_ratio = 0;
  for (const auto& [name, truth] : gpu64) {
    if (!is_floating(truth.dtype())) {
      BOOST_TEST(ops::to_vector(gpu32.at(name)) == ops::to_vector(truth), name);
      continue;
    }
    double g = rel(gpu32.at(name), truth), c = rel(cpu32.at(name), truth);
    double bound = std::max(kFactor * c, truth.numel() == 1 ? kScalarFloor : kFloor);
    if (c > 0 && g / c > worst_ratio) worst_ratio = g / c;
    ++worst_ratio_n;
    BOOST_TEST(g <= bound, name << ": CUDA float32 error " << g << " > " << bound << " (CPU float32: " << c << ")");
  }
  BOOST_TEST_MESSAGE(worst_ratio_n << " tensors; largest CUDA / CPU float32 error ratio " << worst_ratio);
}

Trace resnet_run(const ResNet& init, const ResNetConfig& cfg, DType dt, Device d, const Tensor& x) {
  auto m = copy_of(init, cfg, dt, d);
  m->eval();
  NoGradGuard ng;
  return {{"logits", host64((*m)(ops::to(ops::to(x, dt), d)))}};
}

Trace deeplab_run(const DeepLabV3& init, DType dt, Device d, const Tensor& x, const Tensor& target) {
  auto m = copy_of(init, DeepLabV3Config{}, dt, d);
  for (auto& [name, mod] : m->named_modules())
    if (name == "classifier.0.project.3") dynamic_cast<Dropout&>(*mod).p = 0;  // no random masks
  m->train();
  SGD opt(make_param_groups(*m), {0.01, 0.9, 0, 1e-4, false});
  Tensor xd = ops::to(ops::to(x, dt), d), td = ops::to(target, d);
  Trace t;
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Tensor out = (*m)(xd);
    Tensor loss = cross_entropy(out, td);
    backward(loss);
    if (step == 0) {
      t["train_out"] = host64(out);
      t["loss"] = host64(loss);
      for (auto& [n, p] : m->named_parameters())
        if (p.grad().defined()) t["grad." + n] = host64(p.grad());
    }
    if (step == 2) t["loss3"] = host64(loss);
    opt.step();
  }
  for (auto& [n, s] : m->state_dict()) t["after3." + n] = is_floating(s.dtype()) ? host64(s) : ops::to(s, Device::cpu());
  return t;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(model_parity)

BOOST_AUTO_TEST_CASE(resnet50_eval_logits) {
  cuda::set_allow_tf32(false);
  ResNetConfig cfg{.depth = 50};
  manual_seed(0);
  ResNet init(cfg);
  Tensor x = randn({2, 3, 64, 64}, DType::Float32, 1);
  Trace cpu32 = resnet_run(init, cfg, DType::Float32, Device::cpu(), x);
  Trace gpu32 = resnet_run(init, cfg, DType::Float32, kGpu, x);
  Trace gpu64 = resnet_run(init, cfg, DType::Float64, kGpu, x);
  double direct = rel(gpu32.at("logits"), cpu32.at("logits"));
  BOOST_TEST_MESSAGE("ResNet-50 eval logits: CUDA vs CPU float32 relative difference " << direct);
  BOOST_TEST(direct <= kDirect);
  within_cpu_error(gpu32, cpu32, gpu64);
}

BOOST_AUTO_TEST_CASE(deeplabv3_train_and_three_sgd_steps) {
  cuda::set_allow_tf32(false);
  manual_seed(0);
  DeepLabV3 init(DeepLabV3Config{});
  Tensor x = randn({2, 3, 64, 64}, DType::Float32, 2);
  Generator g(3);
  Tensor target = ops::randint(0, 21, {2, 64, 64}, DType::Int64, &g);
  ops::fill_(ops::narrow(target, 1, 0, 8), 255);  // some ignored pixels
  Trace cpu32 = deeplab_run(init, DType::Float32, Device::cpu(), x, target);
  Trace gpu32 = deeplab_run(init, DType::Float32, kGpu, x, target);
  Trace gpu64 = deeplab_run(init, DType::Float64, kGpu, x, target);
  double direct = rel(gpu32.at("loss"), cpu32.at("loss"));
  BOOST_TEST_MESSAGE("DeepLabV3 first loss: CUDA vs CPU float32 relative difference " << direct);
  BOOST_TEST(direct <= kDirect);
  within_cpu_error(gpu32, cpu32, gpu64);
}

BOOST_AUTO_TEST_SUITE_END()
