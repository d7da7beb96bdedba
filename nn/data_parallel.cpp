// data_parallel.cpp: see data_parallel.h.
#include "data_parallel.h"

#include <algorithm>
#include <chrono>

#include "../tensor/error.h"
#include "../tensor/ops.h"

namespace mdp::nn {

void broadcast_parameters(Module& model, ProcessGroup& group, int root) {
  if (group.size() == 1) return;
  NoGradGuard ng;
  for (auto& [name, t] : model.state_dict()) {
    Tensor buf = ops::contiguous(ops::clone(t));
    group.broadcast(buf, root);
    ops::copy_(t, buf);
  }
}

GradientReducer::GradientReducer(Module& model, ProcessGroup& group, const GradientSyncOptions& o) : group_(group) {
  if (group.size() == 1) return;
  // The gradients' own communicator: their all-reduces start from autograd hooks in the middle of the
  // backward pass, and must not have to interleave identically with its other collectives (SyncBN's).
  grad_group_ = group.duplicate();
  NamedTensors params = model.named_parameters();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {  // reverse registration order
    if (!it->second.requires_grad()) continue;
    names_.push_back(it->first);
    params_.push_back(it->second);
  }
  bucket_of_.resize(params_.size());
  ready_.assign(params_.size(), 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t n = params_[i].numel();
    const int64_t cap = buckets_.size() <= 1 ? o.first_bucket_bytes : o.bucket_bytes;
    if (buckets_.empty() || (buckets_.back().numel > 0 && (buckets_.back().numel + n) * 4 > cap)) buckets_.emplace_back();
    buckets_.back().params.push_back(i);
    buckets_.back().numel += n;
    bucket_of_[i] = buckets_.size() - 1;
    hooks_.push_back(register_post_accumulate_grad_hook(params_[i], [this, i](const Tensor&) { on_gradient(i); }));
  }
  for (Bucket& b : buckets_) b.pending = int64_t(b.params.size());
}

void GradientReducer::prepare_for_backward() {
  if (group_.size() == 1) return;
  MDP_CHECK(next_bucket_ == 0, "GradientReducer: prepare_for_backward() again before finish()");
  // On CUDA the buckets start in finish(), through the world's NCCL communicator: overlapping them would
  // need a second communicator on a stream of its own (not built yet).
  armed_ = !params_.empty() && params_.front().device().is_cpu();
}

void GradientReducer::on_gradient(size_t i) {
  if (!armed_) return;
  MDP_CHECK(!ready_[i], "GradientReducer: {} got a second gradient in one armed backward pass; with gradient "
            "accumulation call prepare_for_backward() before the last micro-batch's backward only", names_[i]);
  ready_[i] = 1;
  if (--buckets_[bucket_of_[i]].pending == 0) {
    while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
      start(buckets_[next_bucket_++]);
      ++stats_.started_during_backward;
    }
  }
  for (size_t b = 0; b < next_bucket_; ++b)  // MPI moves non-blocking collectives along inside its calls
    if (buckets_[b].work) buckets_[b].work->test();
}

void GradientReducer::start(Bucket& b) {
  NoGradGuard ng;
  if (!b.flat.defined()) b.flat = ops::empty({b.numel}, DType::Float32, params_[b.params.front()].device());
  int64_t at = 0;
  for (size_t i : b.params) {
    Tensor dst = ops::narrow(b.flat, 0, at, params_[i].numel());
    Tensor g = params_[i].grad();
    if (g.defined()) {
      MDP_CHECK(g.dtype() == DType::Float32, "GradientReducer: the gradient of {} is {}; float32 gradients are averaged",
                names_[i], dtype_name(g.dtype()));
      MDP_CHECK(g.device() == b.flat.device(), "GradientReducer: the gradient of {} is on {}, its bucket on {}", names_[i],
                g.device().str(), b.flat.device().str());
      ops::copy_(dst, ops::reshape(ops::contiguous(g), {-1}));
    } else {
      ops::fill_(dst, 0.0);  // no gradient on this rank: it adds nothing to the sum
    }
    at += params_[i].numel();
  }
  b.work = b.flat.device().is_cuda() ? group_.all_reduce_sum_async(b.flat) : grad_group_->all_reduce_sum_async(b.flat);
  stats_.bytes += b.numel * 4;
  ++stats_.buckets;
}

GradientSyncStats GradientReducer::finish() {
  if (group_.size() == 1) return {};
  auto t0 = std::chrono::steady_clock::now();
  while (next_bucket_ < buckets_.size()) start(buckets_[next_bucket_++]);
  // Which parameters got a gradient on any rank (DDP's find_unused_parameters): those on none keep none.
  Tensor used = ops::zeros({int64_t(params_.size())}, DType::Float32);
  float* u = used.data<float>();
  for (size_t i = 0; i < params_.size(); ++i) u[i] = params_[i].grad().defined() ? 1.f : 0.f;
  grad_group_->all_reduce_sum(used);
  NoGradGuard ng;
  const double scale = 1.0 / double(group_.size());
  for (Bucket& b : buckets_) {
    b.work->wait();
    b.work.reset();
    int64_t at = 0;
    for (size_t i : b.params) {
      Tensor& p = params_[i];
      Tensor mean = ops::mul(ops::reshape(ops::narrow(b.flat, 0, at, p.numel()), p.shape()), scale);
      at += p.numel();
      if (u[i] == 0.f) continue;
      if (p.grad().defined()) ops::copy_(p.grad(), mean);
      else p.set_grad(mean);
    }
    b.pending = int64_t(b.params.size());
  }
  std::fill(ready_.begin(), ready_.end(), uint8_t(0));
  next_bucket_ = 0;
  armed_ = false;
  GradientSyncStats s = stats_;
  s.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats_ = {};
  return s;
}

}  // namespace mdp::nn
