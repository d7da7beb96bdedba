// resnet.cpp: torchvision's ResNet.
#include "nn/resnet.h"

#include <cmath>

#include "tensor/error.h"

namespace mdp::nn {
namespace {
// torchvision's stem: conv1 7x7/2, bn1, relu, maxpool 3x3/2 (the parameters live directly on ResNet, so
// this helper registers into the ResNet itself; see ResNet::ResNet).
class DeepStem : public Sequential {
 public:
  DeepStem(int64_t out) {
    int64_t mid = out / 2;
    for (auto [in, o, s] : {std::tuple<int64_t, int64_t, int64_t>{3, mid, 2}, {mid, mid, 1}, {mid, out, 1}}) {
      push_back(std::make_shared<Conv2d>(
          Conv2dOptions{.in = in, .out = o, .kernel = 3, .stride = s, .padding = 1, .bias = false}));
      push_back(std::make_shared<BatchNorm2d>(o));
      push_back(std::make_shared<ReLU>());
    }
  }
};
}  // namespace

Bottleneck::Bottleneck(int64_t in, int64_t planes, int64_t stride, int64_t dilation, ModulePtr downsample) {
  conv1_ = register_module(
      "conv1", std::make_shared<Conv2d>(Conv2dOptions{.in = in, .out = planes, .kernel = 1, .bias = false}));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2_ = register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions{.in = planes,
                                                                           .out = planes,
                                                                           .kernel = 3,
                                                                           .stride = stride,
                                                                           .padding = dilation,
                                                                           .dilation = dilation,
                                                                           .bias = false}));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3_ = register_module("conv3", std::make_shared<Conv2d>(Conv2dOptions{
                                        .in = planes, .out = planes * expansion, .kernel = 1, .bias = false}));
  bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
  if (downsample) downsample_ = register_module("downsample", downsample);
}

Tensor Bottleneck::forward(const Tensor& x) {  // x (N, in, H, W)
  // relu(bn(conv(x))) and relu(bn3(conv3(y)) + identity), each bn + relu (+ add) as one fused op.
  Tensor y = bn1_->forward_relu((*conv1_)(x));  // (N, planes, H, W)          1x1
  y = bn2_->forward_relu((*conv2_)(y));          // (N, planes, H/s, W/s)      3x3, stride s (1 when dilated)
  return bn3_->forward_relu((*conv3_)(y), downsample_ ? (*downsample_)(x) : x);  // (N, 4 planes, H/s, W/s)
}

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride, int64_t dilation, ModulePtr downsample) {
  conv1_ = register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions{.in = in,
                                                                           .out = planes,
                                                                           .kernel = 3,
                                                                           .stride = stride,
                                                                           .padding = dilation,
                                                                           .dilation = dilation,
                                                                           .bias = false}));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2_ = register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions{
                                        .in = planes, .out = planes, .kernel = 3, .padding = 1, .bias = false}));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (downsample) downsample_ = register_module("downsample", downsample);
}

Tensor BasicBlock::forward(const Tensor& x) {  // x (N, in, H, W)
  Tensor y = bn1_->forward_relu((*conv1_)(x));                                // (N, planes, H/s, W/s)
  return bn2_->forward_relu((*conv2_)(y), downsample_ ? (*downsample_)(x) : x);  // (N, planes, H/s, W/s)
}

namespace {
// Stem of the standard ResNet as separate children of the ResNet (torchvision names conv1, bn1).
class StandardStem : public Module {
 public:
  StandardStem(std::shared_ptr<Conv2d> c, std::shared_ptr<BatchNorm2d> b) : conv(std::move(c)), bn(std::move(b)) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(bn->forward_relu((*conv)(x)), {{3, 3}, {2, 2}, {1, 1}}); }
  const char* type_name() const override { return "Stem"; }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
};
}  // namespace

ResNet::ResNet(const ResNetConfig& cfg) : cfg_(cfg) {
  static const std::map<int, std::array<int, 4>> blocks = {
      {18, {2, 2, 2, 2}}, {34, {3, 4, 6, 3}}, {50, {3, 4, 6, 3}}, {101, {3, 4, 23, 3}}, {152, {3, 8, 36, 3}}};
  auto it = blocks.find(cfg.depth);
  MDP_CHECK(it != blocks.end(), "ResNet: depth {} is not one of 18, 34, 50, 101, 152", cfg.depth);
  MDP_CHECK(cfg.width > 0, "ResNet: width multiplier must be positive, got {}", cfg.width);
  bool bottleneck = cfg.depth >= 50;
  int64_t expansion = bottleneck ? Bottleneck::expansion : BasicBlock::expansion;
  auto ch = [&](int64_t c) { return std::max<int64_t>(1, int64_t(std::lround(double(c) * cfg.width))); };

  int64_t inplanes = ch(64);
  if (cfg.deep_stem) {
    auto stem = register_module("stem", std::make_shared<DeepStem>(inplanes));
    stem_ = std::make_shared<Sequential>(std::vector<ModulePtr>{
        stem, std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel = 3, .stride = 2, .padding = 1})});
  } else {
    auto conv1 =
        register_module("conv1", std::make_shared<Conv2d>(Conv2dOptions{
                                     .in = 3, .out = inplanes, .kernel = 7, .stride = 2, .padding = 3, .bias = false}));
    auto bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(inplanes));
    stem_ = std::make_shared<StandardStem>(conv1, bn1);
  }
  int64_t dilation = 1;
  for (int i = 0; i < 4; ++i) {
    int64_t planes = ch(64 << i), stride = i == 0 ? 1 : 2;
    int64_t previous_dilation = dilation;
    if (i > 0 && cfg.replace_stride_with_dilation[size_t(i - 1)]) {
      dilation *= stride;
      stride = 1;
    }
    ModulePtr down;
    if (stride != 1 || inplanes != planes * expansion)
      down = std::make_shared<Sequential>(std::vector<ModulePtr>{
          std::make_shared<Conv2d>(
              Conv2dOptions{.in = inplanes, .out = planes * expansion, .kernel = 1, .stride = stride, .bias = false}),
          std::make_shared<BatchNorm2d>(planes * expansion)});
    auto layer = std::make_shared<Sequential>();
    for (int b = 0; b < it->second[size_t(i)]; ++b) {
      int64_t s = b == 0 ? stride : 1, d = b == 0 ? previous_dilation : dilation;
      ModulePtr ds = b == 0 ? down : nullptr;
      if (bottleneck) layer->push_back(std::make_shared<Bottleneck>(inplanes, planes, s, d, ds));
      else layer->push_back(std::make_shared<BasicBlock>(inplanes, planes, s, d, ds));
      inplanes = planes * expansion;
    }
    layers_[i] = register_module("layer" + std::to_string(i + 1), layer);
    channels_[size_t(i)] = inplanes;
  }
  if (cfg.include_top) fc_ = register_module("fc", std::make_shared<Linear>(inplanes, cfg.num_classes));
  init_torchvision(*this);
}

std::map<std::string, Tensor> ResNet::forward_features(const Tensor& x) {
  MDP_CHECK(x.dim() == 4 && x.size(1) == 3, "ResNet: input {} must be (N, 3, H, W)", shape_str(x.shape()));
  std::map<std::string, Tensor> out;
  // ResNet-50 at width 1 (BasicBlock depths: a quarter of the channels), output stride 8 when layer3 and
  // layer4 are dilated (DeepLabV3, MDP), 32 otherwise (classification):
  Tensor y = (*stem_)(x);  // (N, 64, H/4, W/4): 7x7 conv stride 2, BN, ReLU, 3x3 max pool stride 2
  for (int i = 0; i < 4; ++i) {
    // layer1 (N, 256, H/4, W/4), layer2 (N, 512, H/8, W/8), layer3 (N, 1024, H/8 or H/16, ...),
    // layer4 (N, 2048, H/8 or H/32, W/8 or W/32)
    y = (*layers_[i])(y);
    out["layer" + std::to_string(i + 1)] = y;
  }
  return out;
}

Tensor ResNet::forward(const Tensor& x) {  // x (N, 3, H, W)
  Tensor y = forward_features(x)["layer4"];  // (N, 2048, H/32, W/32) (H/8 dilated)
  if (!fc_) return y;
  return (*fc_)(flatten(adaptive_avg_pool2d(y, 1, 1), 1));  // (N, 2048) -> (N, num_classes)
}

void init_torchvision(Module& root) {
  for (auto& [name, m] : root.named_modules()) {
    if (auto* c = dynamic_cast<Conv2d*>(m)) {
      double std = std::sqrt(2.0 / double(c->out_channels * c->kernel_size * c->kernel_size));
      c->weight.set_data(ops::mul(ops::randn(c->weight.shape(), DType::Float32, &default_generator()), std));
      if (c->bias.defined()) ops::fill_(c->bias, 0);
    } else if (auto* b = dynamic_cast<BatchNorm2d*>(m)) {
      if (b->weight.defined()) {
        ops::fill_(b->weight, 1);
        ops::fill_(b->bias, 0);
      }
    }
  }
}

}  // namespace mdp::nn
