// train_step.cpp: see train_step.h.
#include "train_step.h"

#include <cmath>

#include "../autograd/autocast.h"
#include "../autograd/engine.h"
#include "../autograd/functions.h"
#include "../tensor/error.h"
#include "../tensor/ops.h"

namespace mdp {

TrainStep::TrainStep(nn::DeepLabV3& model, nn::Optimizer& optimizer, const TrainStepOptions& options)
    : model_(model), optimizer_(optimizer), o_(options) {
  if (o_.world && o_.world->size() > 1) reducer_ = std::make_unique<nn::GradientReducer>(model_, *o_.world);  // (a collective)
}

TrainStepResult TrainStep::run(const std::vector<data::Batch>& batches, double lr, int64_t iteration) {
  MDP_CHECK(!batches.empty(), "TrainStep: no batch for iteration {}", iteration);
  TrainStepResult r;
  optimizer_.set_lr(lr);
  optimizer_.zero_grad();
  const int64_t micro = int64_t(batches.size());
  for (int64_t m = 0; m < micro; ++m) {
    const data::Batch& batch = batches[size_t(m)];
    Tensor x = ops::to(batch.images, o_.device), y = ops::to(batch.labels, o_.device);  // (N, 3, H, W), (N, H, W)
    nn::SegOutputs out;
    {
      AutocastGuard autocast(o_.bf16);  // bf16 mixed precision: the forward's convolutions and matmuls
      out = model_.forward_all(x);       // (N, K, H, W), and the auxiliary head's
    }
    Tensor loss = cross_entropy(out.out, y, Tensor(), batch.ignore_index);
    if (out.aux.defined()) loss = add(loss, mul(cross_entropy(out.aux, y, Tensor(), batch.ignore_index), o_.aux_weight));
    const double lv = loss.item();
    MDP_CHECK(std::isfinite(lv), "training: the loss became {} at iteration {} (lower train.lr?)", lv, iteration);
    if (reducer_ && m == micro - 1) reducer_->prepare_for_backward();  // the all-reduces overlap the last backward
    backward(micro > 1 ? mul(loss, 1.0 / double(micro)) : loss);
    r.loss += lv;
    r.images += batch.size();
  }
  r.loss /= double(micro);
  if (reducer_) r.sync = reducer_->finish();  // every gradient the mean over the ranks
  if (o_.grad_clip > 0) nn::clip_grad_norm(model_.parameters(), o_.grad_clip);
  optimizer_.step();
  return r;
}

}  // namespace mdp
