// mdp_net.h: the MDP pretraining network (§5 of mdp-method.md): a ResNet backbone at output stride 8
// and ContrastiveSeg's projection head (1x1 conv C->C, BN, ReLU, 1x1 conv C->D, L2-normalise over
// channels), giving one unit-length D-dim embedding per stride-8 pixel; and the momentum (key) encoder
// update, an exponential moving average of the query network's parameters.
//
// embed_bn (not the paper's) appends a batch norm without affine parameters to the head, before the
// normalisation, as MoCo v3's and BYOL's projectors end: it removes the direction that every pixel's
// embedding shares. The pixel-to-prototype softmax is blind to a direction all prototypes share (it adds
// the same logit to every class), so nothing in MDP's loss removes it. Measured in docs/paper-ablations.md:
// it does not help; training lines the unit embeddings up again, and MDP scores lower with it.
#pragma once
#include "../nn/resnet.h"

namespace mdp {

struct MDPNetConfig {
  nn::ResNetConfig backbone{.depth = 50, .replace_stride_with_dilation = {false, true, true}, .include_top = false};
  int64_t dim = 256;
  bool embed_bn = false;  // a non-affine batch norm on the D channels before L2-normalising (see above)
};

class ProjectionHead : public nn::Module {
 public:
  ProjectionHead(int64_t in, int64_t dim, bool embed_bn = false);
  Tensor forward(const Tensor& x) override;  // (N, in, h, w) -> (N, dim, h, w), unit length over dim
  const char* type_name() const override { return "ProjectionHead"; }

 private:
  // children 0 conv, 1 bn, 2 relu, 3 conv (names proj.0.weight, ...), with embed_bn 4 bn (buffers only)
  std::shared_ptr<nn::Sequential> layers_;
};

class MDPNet : public nn::Module {
 public:
  explicit MDPNet(const MDPNetConfig& cfg);
  Tensor forward(const Tensor& x) override;  // (N, 3, H, W) -> (N, D, H/8, W/8) normalised embeddings
  const char* type_name() const override { return "MDPNet"; }
  nn::ResNet& backbone() { return *backbone_; }
  const MDPNetConfig& config() const { return cfg_; }

 private:
  MDPNetConfig cfg_;
  std::shared_ptr<nn::ResNet> backbone_;
  std::shared_ptr<ProjectionHead> proj_;
};

// key <- m key + (1 - m) query for every parameter (same names and shapes required); buffers untouched
// (the key network updates its own batch-norm statistics in its forward passes).
void momentum_update(nn::Module& key, const nn::Module& query, double m);
// key <- query for every parameter and buffer (the start of pretraining).
void copy_weights(nn::Module& dst, const nn::Module& src);

}  // namespace mdp
