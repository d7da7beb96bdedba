// resnet.h: ResNet exactly as torchvision builds it (Bottleneck with the stride on the 3x3 conv, 7x7
// stem, parameter names conv1/bn1/layer1.0.conv1/.../fc), with replace_stride_with_dilation for output
// stride 32/16/8, an MMSegmentation v1c deep stem option, BasicBlock depths 18/34 and a width
// multiplier for small runs. Initialised as torchvision: Kaiming-normal (fan_out) convs, BN 1/0.
#pragma once
#include <array>
#include <map>

#include "layers.h"

namespace mdp::nn {

struct ResNetConfig {
  int depth = 50;                                      // 18, 34 (BasicBlock), 50, 101 (Bottleneck)
  std::array<bool, 3> replace_stride_with_dilation{};  // layer2..4: {false, true, true} = output stride 8
  bool deep_stem = false;   // v1c: three 3x3 convs (stem.0 ... stem.8) instead of the 7x7 conv1/bn1
  double width = 1.0;       // multiplies every channel count (64 * width in the stem)
  int num_classes = 1000;
  bool include_top = true;  // avgpool + fc; false for a segmentation backbone (no fc parameters)
};

class ConvBnRelu;

class ResNet : public Module {
 public:
  explicit ResNet(const ResNetConfig& cfg);
  // include_top: (N, 3, H, W) -> logits (N, num_classes); otherwise the layer4 features.
  Tensor forward(const Tensor& x) override;
  // Outputs of layer1..layer4 ("layer1".."layer4"), for segmentation heads.
  std::map<std::string, Tensor> forward_features(const Tensor& x);
  const char* type_name() const override { return "ResNet"; }
  int64_t layer_channels(int layer) const { return channels_[size_t(layer - 1)]; }  // layer 1..4
  const ResNetConfig& config() const { return cfg_; }

 private:
  ResNetConfig cfg_;
  std::shared_ptr<Module> stem_;  // conv1 + bn1 + relu + maxpool, or the deep stem + maxpool
  std::shared_ptr<Sequential> layers_[4];
  std::shared_ptr<Linear> fc_;
  std::array<int64_t, 4> channels_{};
};

// The small blocks ResNet is made of, public for heads that reuse them.
class Bottleneck : public Module {
 public:
  Bottleneck(int64_t in, int64_t planes, int64_t stride, int64_t dilation, ModulePtr downsample);
  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "Bottleneck"; }
  static constexpr int64_t expansion = 4;

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_, bn3_;
  ModulePtr downsample_;
};

class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in, int64_t planes, int64_t stride, int64_t dilation, ModulePtr downsample);
  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "BasicBlock"; }
  static constexpr int64_t expansion = 1;

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
  ModulePtr downsample_;
};

// Kaiming-normal (fan_out, relu) for every Conv2d, weight 1 / bias 0 for every BatchNorm2d below m.
void init_torchvision(Module& m);

}  // namespace mdp::nn
