// mdp_net.cpp: backbone + projection head, and the momentum encoder update.
#include "mdp/mdp_net.h"

#include "tensor/error.h"

namespace mdp {

ProjectionHead::ProjectionHead(int64_t in, int64_t dim, bool embed_bn) {
  std::vector<nn::ModulePtr> layers{
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in = in, .out = in, .kernel = 1, .bias = false}),
      std::make_shared<nn::BatchNorm2d>(in), std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(in, dim, 1)};
  if (embed_bn) layers.push_back(std::make_shared<nn::BatchNorm2d>(dim, nn::BatchNorm2dOptions{.affine = false}));
  layers_ = std::make_shared<nn::Sequential>(layers);
  register_module("proj", layers_);
}

// Embeddings in float32 (bf16 under autocast before the cast), normalised in float32.
// (N, in, h, w) -> 1x1 conv, BN, ReLU, 1x1 conv [, BN without affine] -> (N, D, h, w), unit length over D
Tensor ProjectionHead::forward(const Tensor& x) { return l2_normalize(mdp::to((*layers_)(x), DType::Float32), 1); }

MDPNet::MDPNet(const MDPNetConfig& cfg) : cfg_(cfg) {
  nn::ResNetConfig bc = cfg.backbone;
  bc.include_top = false;
  backbone_ = register_module("backbone", std::make_shared<nn::ResNet>(bc));
  proj_ = register_module("head", std::make_shared<ProjectionHead>(backbone_->layer_channels(4), cfg.dim, cfg.embed_bn));
}

// (N, 3, H, W) -> backbone (N, 2048 width, H/8, W/8) -> projection (N, D, H/8, W/8)
Tensor MDPNet::forward(const Tensor& x) { return (*proj_)((*backbone_)(x)); }

void momentum_update(nn::Module& key, const nn::Module& query, double m) {
  auto k = key.named_parameters(), q = query.named_parameters();
  MDP_CHECK(k.size() == q.size(), "momentum_update: {} key parameters vs {} query parameters", k.size(), q.size());
  NoGradGuard no_grad;
  for (size_t i = 0; i < k.size(); ++i) {
    MDP_CHECK(k[i].first == q[i].first && k[i].second.shape() == q[i].second.shape(),
              "momentum_update: parameter {} {} does not match {} {}", k[i].first, shape_str(k[i].second.shape()),
              q[i].first, shape_str(q[i].second.shape()));
    ops::axpby_(k[i].second, 1 - m, q[i].second, m);
  }
}

void copy_weights(nn::Module& dst, const nn::Module& src) {
  auto d = dst.state_dict(), s = src.state_dict();
  MDP_CHECK(d.size() == s.size(), "copy_weights: {} vs {} tensors", d.size(), s.size());
  NoGradGuard no_grad;
  for (size_t i = 0; i < d.size(); ++i) {
    MDP_CHECK(d[i].first == s[i].first && d[i].second.shape() == s[i].second.shape(), "copy_weights: {} does not match {}",
              d[i].first, s[i].first);
    ops::copy_(d[i].second, s[i].second);
  }
}

}  // namespace mdp
