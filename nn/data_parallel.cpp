// data_parallel.cpp: see data_parallel.h.
#include "data_parallel.h"

#include <chrono>

#include "../autograd/node.h"
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

GradientSyncStats average_gradients(Module& model, ProcessGroup& group, const GradientSyncOptions& o) {
  GradientSyncStats stats;
  if (group.size() == 1) return stats;
  NoGradGuard ng;
  std::vector<Tensor> grads;  // float32, in reverse registration order (the order backward finishes them)
  NamedTensors params = model.named_parameters();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    Tensor g = it->second.grad();
    if (!g.defined()) continue;
    MDP_CHECK(g.dtype() == DType::Float32, "average_gradients: the gradient of {} is {}; float32 gradients are averaged",
              it->first, dtype_name(g.dtype()));
    MDP_CHECK(grads.empty() || g.device() == grads.front().device(), "average_gradients: the gradients are on {} and {}",
              grads.front().device().str(), g.device().str());
    grads.push_back(g);
  }
  const double scale = 1.0 / double(group.size());
  size_t first = 0;
  while (first < grads.size()) {
    size_t last = first;
    int64_t elems = 0;
    while (last < grads.size() && (last == first || (elems + grads[last].numel()) * 4 <= o.bucket_bytes)) elems += grads[last++].numel();
    Tensor bucket = ops::empty({elems}, DType::Float32, grads[first].device());
    int64_t at = 0;
    for (size_t i = first; i < last; ++i) {
      ops::copy_(ops::narrow(bucket, 0, at, grads[i].numel()), ops::reshape(ops::contiguous(grads[i]), {-1}));
      at += grads[i].numel();
    }
    auto t0 = std::chrono::steady_clock::now();
    group.all_reduce_sum(bucket);
    stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++stats.buckets;
    stats.bytes += elems * 4;
    at = 0;
    for (size_t i = first; i < last; ++i) {
      Tensor part = ops::reshape(ops::narrow(bucket, 0, at, grads[i].numel()), grads[i].shape());
      ops::copy_(grads[i], ops::mul(part, scale));
      at += grads[i].numel();
    }
    first = last;
  }
  return stats;
}

}  // namespace mdp::nn
