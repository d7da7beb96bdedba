// deeplabv3.cpp: the two DeepLabV3 heads and the FCN auxiliary heads.
#include "nn/deeplabv3.h"

#include "tensor/error.h"

namespace mdp::nn {
namespace {
// conv (no bias) + BatchNorm2d + ReLU as torchvision's Sequential: 0.weight, 1.*.
ModulePtr conv_bn_relu(Conv2dOptions conv) {
  conv.bias = false;
  return std::make_shared<Sequential>(std::vector<ModulePtr>{
      std::make_shared<Conv2d>(conv), std::make_shared<BatchNorm2d>(conv.out), std::make_shared<ReLU>()});
}

// Global average pool -> module -> bilinear upsample back to the input's size.
class PoolingBranch : public Module {
 public:
  // Child 0 is the (parameter-free) pool, so the layers are named from 1: torchvision 1 conv, 2 bn,
  // 3 relu; mmseg 1 = ConvModule.
  explicit PoolingBranch(std::vector<ModulePtr> layers) {
    for (size_t i = 0; i < layers.size(); ++i) add_child(std::to_string(i + 1), layers[i]);
    layers_ = std::move(layers);
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = adaptive_avg_pool2d(x, 1, 1);
    for (auto& m : layers_) y = (*m)(y);
    return resize_bilinear(y, x.size(2), x.size(3), false);
  }
  const char* type_name() const override { return "ImagePool"; }

 private:
  std::vector<ModulePtr> layers_;
};

// torchvision ASPP: convs.0 (1x1), convs.1..3 (3x3 dilated), convs.4 (pooling); project (1x1 + dropout).
class TorchvisionASPP : public Module {
 public:
  TorchvisionASPP(int64_t in, int64_t ch, std::vector<int64_t> rates) {
    auto convs = std::make_shared<Sequential>();  // used as a ModuleList: children 0..4
    convs->push_back(conv_bn_relu({.in = in, .out = ch, .kernel = 1}));
    for (int64_t r : rates)
      convs->push_back(conv_bn_relu({.in = in, .out = ch, .kernel = 3, .padding = r, .dilation = r}));
    convs->push_back(std::make_shared<PoolingBranch>(
        std::vector<ModulePtr>{std::make_shared<Conv2d>(Conv2dOptions{.in = in, .out = ch, .kernel = 1, .bias = false}),
                               std::make_shared<BatchNorm2d>(ch), std::make_shared<ReLU>()}));
    convs_ = register_module("convs", convs);
    project_ = register_module(
        "project", std::make_shared<Sequential>(std::vector<ModulePtr>{
                       std::make_shared<Conv2d>(
                           Conv2dOptions{.in = ch * int64_t(convs->size()), .out = ch, .kernel = 1, .bias = false}),
                       std::make_shared<BatchNorm2d>(ch), std::make_shared<ReLU>(), std::make_shared<Dropout>(0.5)}));
  }
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> branches;
    for (size_t i = 0; i < convs_->size(); ++i) branches.push_back((*convs_)[i](x));
    return (*project_)(cat(branches, 1));
  }
  const char* type_name() const override { return "ASPP"; }

 private:
  std::shared_ptr<Sequential> convs_, project_;
};

// MMSegmentation ASPPHead: image_pool, aspp_modules, bottleneck, dropout, conv_seg.
class MMSegASPPHead : public Module {
 public:
  MMSegASPPHead(int64_t in, int64_t ch, int64_t classes, std::vector<int64_t> dilations) {
    // mmseg: image_pool = Sequential(AdaptiveAvgPool2d(1), ConvModule): the ConvModule is child "1".
    image_pool_ = register_module("image_pool",
                                  std::make_shared<PoolingBranch>(std::vector<ModulePtr>{
                                      std::make_shared<ConvModule>(Conv2dOptions{.in = in, .out = ch, .kernel = 1})}));
    auto aspp = std::make_shared<Sequential>();
    for (int64_t d : dilations)
      aspp->push_back(std::make_shared<ConvModule>(
          d == 1 ? Conv2dOptions{.in = in, .out = ch, .kernel = 1}
                 : Conv2dOptions{.in = in, .out = ch, .kernel = 3, .padding = d, .dilation = d}));
    aspp_ = register_module("aspp_modules", aspp);
    bottleneck_ = register_module("bottleneck",
                                  std::make_shared<ConvModule>(Conv2dOptions{
                                      .in = ch * int64_t(dilations.size() + 1), .out = ch, .kernel = 3, .padding = 1}));
    conv_seg_ = register_module("conv_seg", std::make_shared<Conv2d>(ch, classes, 1));
    dropout_ = std::make_shared<Dropout2d>(0.1);
    add_child("dropout", dropout_);  // no parameters: invisible in the state dict, as in mmseg
  }
  Tensor forward(const Tensor& x) override {  // x (N, in, h, w): layer4, h = H/8
    std::vector<Tensor> branches{(*image_pool_)(x)};  // (N, ch, h, w): pooled to 1x1, conv, upsampled
    for (size_t i = 0; i < aspp_->size(); ++i) branches.push_back((*aspp_)[i](x));  // 4 x (N, ch, h, w)
    return (*conv_seg_)((*dropout_)((*bottleneck_)(cat(branches, 1))));  // (N, 5 ch, h, w) -> (N, ch, h, w) -> (N, K, h, w)
  }
  const char* type_name() const override { return "ASPPHead"; }

 private:
  ModulePtr image_pool_, bottleneck_;
  std::shared_ptr<Sequential> aspp_;
  std::shared_ptr<Conv2d> conv_seg_;
  std::shared_ptr<Dropout2d> dropout_;
};

// MMSegmentation FCNHead (num_convs 1, no input concat): convs.0 ConvModule 3x3, dropout 0.1, conv_seg.
class MMSegFCNHead : public Module {
 public:
  MMSegFCNHead(int64_t in, int64_t ch, int64_t classes) {
    auto convs = std::make_shared<Sequential>();
    convs->push_back(std::make_shared<ConvModule>(Conv2dOptions{.in = in, .out = ch, .kernel = 3, .padding = 1}));
    convs_ = register_module("convs", convs);
    conv_seg_ = register_module("conv_seg", std::make_shared<Conv2d>(ch, classes, 1));
    dropout_ = std::make_shared<Dropout2d>(0.1);
    add_child("dropout", dropout_);
  }
  Tensor forward(const Tensor& x) override { return (*conv_seg_)((*dropout_)((*convs_)(x))); }
  const char* type_name() const override { return "FCNHead"; }

 private:
  std::shared_ptr<Sequential> convs_;
  std::shared_ptr<Conv2d> conv_seg_;
  std::shared_ptr<Dropout2d> dropout_;
};
}  // namespace

ConvModule::ConvModule(Conv2dOptions conv) {
  conv.bias = false;
  conv_ = register_module("conv", std::make_shared<Conv2d>(conv));
  bn_ = register_module("bn", std::make_shared<BatchNorm2d>(conv.out));
}

Tensor ConvModule::forward(const Tensor& x) { return relu((*bn_)((*conv_)(x))); }

DeepLabV3::DeepLabV3(const DeepLabV3Config& cfg) : cfg_(cfg) {
  MDP_CHECK(cfg.num_classes > 0, "DeepLabV3: num_classes must be positive, got {}", cfg.num_classes);
  ResNetConfig bc = cfg.backbone;
  bc.include_top = false;
  backbone_ = register_module("backbone", std::make_shared<ResNet>(bc));
  int64_t in = backbone_->layer_channels(4), mid = backbone_->layer_channels(3);
  if (cfg.layout == SegLayout::Linear) {
    MDP_CHECK(!cfg.aux_head, "DeepLabV3: a linear probe has no auxiliary head");
    head_ = register_module("linear_head", std::make_shared<Sequential>(std::vector<ModulePtr>{
        std::make_shared<BatchNorm2d>(in), std::make_shared<Conv2d>(in, cfg.num_classes, 1)}));
    return;
  }
  bool tv = cfg.layout == SegLayout::Torchvision;
  int64_t ch = cfg.channels > 0 ? cfg.channels : (tv ? 256 : 512);
  if (tv) {
    head_ = register_module(
        "classifier",
        std::make_shared<Sequential>(std::vector<ModulePtr>{
            std::make_shared<TorchvisionASPP>(in, ch, std::vector<int64_t>{12, 24, 36}),
            std::make_shared<Conv2d>(Conv2dOptions{.in = ch, .out = ch, .kernel = 3, .padding = 1, .bias = false}),
            std::make_shared<BatchNorm2d>(ch), std::make_shared<ReLU>(),
            std::make_shared<Conv2d>(ch, cfg.num_classes, 1)}));
    if (cfg.aux_head)
      aux_ =
          register_module("aux_classifier",
                          std::make_shared<Sequential>(std::vector<ModulePtr>{
                              std::make_shared<Conv2d>(
                                  Conv2dOptions{.in = mid, .out = mid / 4, .kernel = 3, .padding = 1, .bias = false}),
                              std::make_shared<BatchNorm2d>(mid / 4), std::make_shared<ReLU>(),
                              std::make_shared<Dropout>(0.1), std::make_shared<Conv2d>(mid / 4, cfg.num_classes, 1)}));
  } else {
    head_ = register_module("decode_head", std::make_shared<MMSegASPPHead>(in, ch, cfg.num_classes,
                                                                           std::vector<int64_t>{1, 12, 24, 36}));
    if (cfg.aux_head) aux_ = register_module("auxiliary_head", std::make_shared<MMSegFCNHead>(mid, 256, cfg.num_classes));
  }
}

SegOutputs DeepLabV3::forward_all(const Tensor& x) {  // x (N, 3, H, W) -> out (N, K, H, W)
  auto feats = backbone_->forward_features(x);  // layer3 (N, 1024, H/8, W/8), layer4 (N, 2048, H/8, W/8)
  int64_t H = x.size(2), W = x.size(3);
  SegOutputs o;
  // Logits in float32 (the heads' are bf16 under autocast), upsampled in float32 for the loss.
  o.out = resize_bilinear(mdp::to((*head_)(feats["layer4"]), DType::Float32), H, W, false);
  if (aux_) o.aux = resize_bilinear(mdp::to((*aux_)(feats["layer3"]), DType::Float32), H, W, false);
  return o;
}

}  // namespace mdp::nn
