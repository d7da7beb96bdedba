// train_step.h: one iteration of supervised segmentation training, as `mdp train` runs it (and as
// MMSegmentation's iteration-based runner does): the optimizer's learning rate set, the gradients
// cleared, then for each micro-batch (train.accumulate of them) a forward pass, under autocast when bf16,
// cross-entropy plus aux_weight x the auxiliary head's, and backward of loss / micro-batches; with
// several ranks the gradient all-reduces overlap the last backward (nn/data_parallel.h); gradient-norm
// clipping; the optimizer step. Deliberately not here: the loader, the schedule, evaluation, logging and
// checkpoints: the caller's loop (apps/train.cpp) owns those.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "../data/loader.h"
#include "../nn/data_parallel.h"
#include "../nn/deeplabv3.h"
#include "../nn/optimizer.h"

namespace mdp {

struct TrainStepOptions {
  Device device = Device::cpu();  // where the model is; batches are moved there
  bool bf16 = false;               // mixed precision: the forward under AutocastGuard
  double aux_weight = 0.4;         // the auxiliary head's loss weight (when the model has one)
  double grad_clip = 0;            // the largest gradient norm; 0: no clipping
  nn::ProcessGroup* world = nullptr;  // data parallel over its ranks; nullptr or one rank: one process
};

struct TrainStepResult {
  double loss = 0;      // this rank's mean over the micro-batches
  int64_t images = 0;   // this rank's
  nn::GradientSyncStats sync;  // the gradient all-reduces (empty with one rank)
};

class TrainStep {
 public:
  TrainStep(nn::DeepLabV3& model, nn::Optimizer& optimizer, const TrainStepOptions& options);
  // One iteration over `batches` (at least one) at learning rate `lr`. `iteration` names the step in the
  // error thrown when the loss is not finite (nothing is then stepped).
  TrainStepResult run(const std::vector<data::Batch>& batches, double lr, int64_t iteration);

 private:
  nn::DeepLabV3& model_;
  nn::Optimizer& optimizer_;
  TrainStepOptions o_;
  std::unique_ptr<nn::GradientReducer> reducer_;  // with several ranks: DDP's buckets and hooks
};

}  // namespace mdp
