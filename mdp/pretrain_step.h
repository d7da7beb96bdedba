// pretrain_step.h: one pretraining iteration as a library object (mdp-method.md §9). A PretrainStep owns
// what a method trains (its networks; for MDP also the momentum key encoder and the prototype bank), the
// loss options, the cross-dataset mixing and the generators they draw from. Given a batch over the
// concatenated label space and an optimizer over trained(), run() does one iteration, top to bottom:
//
//   pseudo-labels for unlabeled samples (MDP) -> cross-dataset mixing -> forward of the trained network
//   -> the method's loss -> backward -> optimizer step -> (MDP) momentum update of the key encoder
//   -> key embeddings of the same mixed batch -> prototype bank update.
//
// The methods, on the same data, schedule and backbone (the paper's baselines beside MDP):
//   MDP             backbone + projection head, pixel-to-prototype contrast with sparse coding (proto_loss.h)
//   Supervised      DeepLabV3 with one classifier over the concatenated classes, cross-entropy
//   MultiHead       the same network, each sample's softmax restricted to its own dataset's classes
//   PixelContrast   backbone + projection head, pixel-to-pixel supervised contrast (pixel_contrast.h)
//   Classification  the backbone with global pooling and a linear classifier on image-level labels
//
// `mdp pretrain`, examples/pretrain_mdp and the tests call this same object. Deliberately not here: the
// loop, the data loader, the learning-rate schedule, checkpoint files, logging and printing.
#pragma once
#include <memory>
#include <string>
#include <utility>

#include "../data/label_space.h"
#include "../data/loader.h"
#include "../nn/deeplabv3.h"
#include "../nn/data_parallel.h"
#include "../nn/distributed.h"
#include "../nn/optimizer.h"
#include "../nn/run_state.h"
#include "mdp_net.h"
#include "mixing.h"
#include "pixel_contrast.h"
#include "proto_loss.h"
#include "prototype_bank.h"
#include "uniformity.h"

namespace mdp {

enum class PretrainMethod { MDP, Supervised, MultiHead, PixelContrast, Classification };
// "mdp", "supervised", "multi-head", "pixel-contrast", "classification"; throws naming the choices.
PretrainMethod pretrain_method_from_name(const std::string& name);
std::string name_of(PretrainMethod m);

struct PretrainStepOptions {
  PretrainMethod method = PretrainMethod::MDP;
  nn::ResNetConfig backbone{
      .depth = 50, .replace_stride_with_dilation = {false, true, true}, .include_top = false};  // stride 8
  int64_t dim = 256;            // MDP and pixel-contrast: embedding dimension D
  bool embed_bn = false;        // MDP and pixel-contrast: MDPNetConfig::embed_bn (not the paper's)
  // MDP and pixel-contrast (not the paper's): the loss and the bank at the labels' resolution. The unit
  // embeddings (query and key) are upsampled bilinearly to the crop size and normalised again, as the
  // supervised head's logits are upsampled to the labels; the paper (ContrastiveSeg) instead
  // nearest-downsamples the labels to stride 8, which keeps about one label per 8x8 cell. Unlabeled
  // samples' pseudo-labels stay stride-8 cells.
  bool upsample_embeddings = false;
  // MDP (not the paper's): every (image, class) region weighs the same in the loss, each pixel 1 / its
  // region's pixel count, as ContrastiveSeg's per-class anchor sampling (max_views per class and image)
  // balances its pixel loss; the paper's loss is a mean over all pixels, which the background dominates.
  bool region_balanced = false;
  // MDP (not the paper's): L += uniformity * uniformity_loss (uniformity.h, t = 2) over up to
  // uniformity_pixels stride-8 query embeddings of the batch, drawn with the anchor-sampling generator;
  // 0: no such term. Distributed, each rank's term is over its own pixels (its gradient averaged).
  double uniformity = 0;
  int64_t uniformity_pixels = 1024;
  int64_t head_channels = 512;  // supervised and multi-head: DeepLabV3 (MMSeg layout) head channels
  ProtoLossOptions loss;        // MDP; its ignore_index is replaced by the label space's
  PixelContrastOptions pixel_contrast;  // its ignore_index too
  MixOptions mix;                       // and this one's
  PrototypeBankOptions bank;            // MDP; num_classes and dim come from the label space and `dim`
  double key_momentum = 0.999;          // MDP: key <- m key + (1 - m) query after every step
  double pseudo_threshold = -1;         // MDP, unlabeled samples: least cosine to the nearest prototype
  bool bf16 = false;                    // forward passes under autocast (losses, bank, optimizer in float32)
  uint64_t seed = 0;                    // the mixing (seed + 1) and anchor sampling (seed + 2) generators
  Device device = Device::cpu();
  // Data-parallel pretraining (nn/distributed.h), nullptr for one process. Then every step averages the
  // gradients over the ranks; MDP's loss is normalised by the pixels of all ranks (each rank's mean
  // weighed by its share, so W ranks at batch b give the loss and gradient of one rank at batch W b); the
  // key encoder's batch norm is synchronised, and the bank is updated with every rank's keys in the
  // order of their batch positions, so every rank holds the same key encoder and bank. Mixing and
  // pseudo-labels stay per rank (rank r's generators are seeded with an offset of r).
  nn::ProcessGroup* world = nullptr;
};

// What one step measured. loss is the total; the rest is what the method has.
struct PretrainStepResult {
  double loss = 0;
  double proto = 0, sparse = 0;  // MDP: the pixel-to-prototype and sparse-coding terms
  double uniformity = 0;         // MDP with options.uniformity > 0: the uniformity term (before its weight)
  int64_t pixels = 0;            // MDP: labelled pixels in the loss (stride 8, or the crop's with upsample_embeddings)
  // MDP and pixel-contrast: |mean of the batch's query embeddings| over every stride-8 pixel, 0..1 (1: all
  // point one way). The direction the prototypes share comes from here (docs/paper-ablations.md).
  double embed_mean_norm = 0;
  int64_t filled = 0;            // MDP: filled prototypes after the bank update
  int64_t anchors = 0;           // pixel-contrast: anchors sampled
  int64_t pseudo_pixels = 0;     // crop pixels that got a pseudo-label (unlabeled samples only)
};

// Mean cosine between the filled prototypes of the same dataset and of different datasets (NaN where no
// pair exists): the collapse diagnostic of mdp-method.md §9.
struct PrototypeCosines {
  double within = 0, across = 0;
};
PrototypeCosines prototype_cosines(const PrototypeBank& bank, const data::LabelSpace& labels);

class PretrainStep {
 public:
  // Builds the method's networks (drawing their initial weights from the default generator, so seed it
  // first), on options.device, in training mode. Checks what the method cannot do (multi-head and
  // classification with mixing, blending or unlabeled datasets without MDP) and throws naming it. With
  // unlabeled members it marks their pixels in `labels` (LabelSpace::mark_unlabeled_pixels), so make
  // the Loader after the step.
  PretrainStep(const PretrainStepOptions& options, std::shared_ptr<data::LabelSpace> labels);

  // One iteration on a batch from a Loader over the label space (images on the CPU); `optimizer` updates
  // trained()'s parameters at the learning rate it holds.
  PretrainStepResult run(const data::Batch& batch, nn::Optimizer& optimizer);

  nn::Module& trained();     // what the optimizer updates: the query network, the DeepLabV3 or the classifier
  nn::ResNet& backbone();    // its backbone (what fine-tuning starts from)
  MDPNet* key() { return key_.get(); }  // MDP's momentum encoder, else nullptr
  // key <- trained() for every parameter and buffer: after loading weights into trained() (MDP only).
  void copy_query_to_key();
  const PrototypeBank& bank() const { return bank_; }
  PrototypeBank& bank() { return bank_; }
  // The generators beside the default one: mixing and anchor sampling.
  Generator& mix_generator() { return mix_gen_; }
  Generator& sample_generator() { return sample_gen_; }
  // Exact resume: the method, the bank (MDP) and the two generators into / out of a run state (the
  // weights, the optimizer, the default generator and the data position are the loop's). load_state
  // throws when the state was written by another method. Distributed, save_state is a collective (every
  // rank calls it; it gathers each rank's generators) and load_state takes the rank's own.
  void save_state(nn::RunState& s) const;
  void load_state(const nn::RunState& s);
  const PretrainStepOptions& options() const { return o_; }
  const data::LabelSpace& label_space() const { return *labels_; }

 private:
  Tensor forward(nn::Module& net, const Tensor& x);  // under autocast when bf16
  Tensor at_loss_size(const Tensor& z, const Tensor& x) const;  // (N, D, h, w) -> at x's (H, W) with upsample_embeddings
  // Unlabeled samples' labels from the key encoder and the bank: (N, H, W) int64 (a copy) and the count.
  std::pair<Tensor, int64_t> pseudo_labelled(const data::Batch& batch);
  // Distributed: every rank's (keys, labels) in the order of their batch positions, as one batch.
  std::pair<Tensor, Tensor> gathered(const Tensor& keys, const Tensor& labels);

  PretrainStepOptions o_;
  std::shared_ptr<const data::LabelSpace> labels_;
  std::unique_ptr<MDPNet> query_, key_;        // MDP, pixel-contrast (key: MDP only)
  std::unique_ptr<nn::DeepLabV3> seg_;         // supervised, multi-head
  std::unique_ptr<nn::ResNet> classifier_;     // classification
  PrototypeBank bank_;
  std::vector<int64_t> class_dataset_;                 // (C): dataset of each global class
  std::vector<std::vector<int64_t>> dataset_classes_;  // global classes of each labeled dataset
  std::vector<bool> unlabeled_, background_class_;     // per dataset; per class (each dataset's class 0)
  bool any_unlabeled_ = false;
  Generator mix_gen_, sample_gen_;
  std::unique_ptr<nn::GradientReducer> reducer_;  // distributed: made at the first step, over trained()
  Tensor ignore_;  // () int64 on the device: the label space's ignore value
};

}  // namespace mdp
