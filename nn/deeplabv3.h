// deeplabv3.h: DeepLabV3 on a dilated ResNet, in two layouts whose parameter names match their origin:
//  - Torchvision: torchvision.models.segmentation.deeplabv3_resnet50 — backbone.*, classifier.* (ASPP
//    rates 12/24/36 with 256 channels, an image-pooling branch, 1x1 projection + Dropout(0.5), 3x3 conv,
//    1x1 classifier), optional aux_classifier.* (FCNHead on layer3);
//  - MMSeg: MMSegmentation's ASPPHead — backbone.*, decode_head.* (512 channels, dilations 1/12/24/36,
//    image pooling, 3x3 bottleneck, Dropout2d(0.1), conv_seg), optional auxiliary_head.* (FCNHead).
//  - Linear: a linear probe, backbone.* and linear_head.* (BatchNorm2d on the layer4 features, then a
//    1x1 classifier; affine, so linear at inference, the BN putting every backbone's features on one
//    scale as MAE's linear probe does). With a frozen backbone it measures how linearly separable the
//    features are, independently of fine-tuning dynamics.
// Logits are resized bilinearly (align_corners = false) to the input size.
#pragma once
#include "resnet.h"

namespace mdp::nn {

enum class SegLayout { Torchvision, MMSeg, Linear };

struct DeepLabV3Config {
  SegLayout layout = SegLayout::Torchvision;
  ResNetConfig backbone{.depth = 50, .replace_stride_with_dilation = {false, true, true}, .include_top = false};
  int num_classes = 21;
  bool aux_head = false;
  int64_t channels = -1;  // head channels; -1: 256 (torchvision) or 512 (mmseg)
};

struct SegOutputs {
  Tensor out;  // (N, K, H, W) at the input size
  Tensor aux;  // (N, K, H, W) from the auxiliary head, when it exists
};

class DeepLabV3 : public Module {
 public:
  explicit DeepLabV3(const DeepLabV3Config& cfg);
  Tensor forward(const Tensor& x) override { return forward_all(x).out; }
  SegOutputs forward_all(const Tensor& x);
  const char* type_name() const override { return "DeepLabV3"; }
  ResNet& backbone() { return *backbone_; }
  const DeepLabV3Config& config() const { return cfg_; }

 private:
  DeepLabV3Config cfg_;
  std::shared_ptr<ResNet> backbone_;
  ModulePtr head_, aux_;
};

// conv (no bias: the options' bias is ignored) + BatchNorm2d + ReLU with MMSegmentation's names:
// conv.weight, bn.*.
class ConvModule : public Module {
 public:
  explicit ConvModule(Conv2dOptions conv);
  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "ConvModule"; }

 private:
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;
};

}  // namespace mdp::nn
