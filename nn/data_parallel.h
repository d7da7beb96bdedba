// data_parallel.h: what torch.nn.parallel.DistributedDataParallel does around a model, as two calls
// a training loop makes: broadcast_parameters() once at the start (every rank starts from rank 0's
// parameters and buffers), average_gradients() after each backward (every gradient becomes the mean over
// the ranks, flattened into buckets of about bucket_bytes, one all-reduce per bucket, in reverse
// registration order as DDP's buckets). With one rank both return at once.
// Deliberately not (yet) here: overlapping the all-reduces with the backward pass (DDP's autograd hooks)
// and unused-parameter detection; every rank must have a gradient for the same parameters.
#pragma once
#include <cstdint>

#include "distributed.h"
#include "module.h"

namespace mdp::nn {

void broadcast_parameters(Module& model, ProcessGroup& group, int root = 0);

struct GradientSyncOptions {
  int64_t bucket_bytes = 25 << 20;  // DDP's bucket_cap_mb = 25
};
struct GradientSyncStats {
  int64_t buckets = 0, bytes = 0;
  double seconds = 0;  // in the all-reduces
};
GradientSyncStats average_gradients(Module& model, ProcessGroup& group, const GradientSyncOptions& options = {});

}  // namespace mdp::nn
