// data_parallel.h: what torch.nn.parallel.DistributedDataParallel does around a model, as calls a
// training loop makes:
//
//   broadcast_parameters(model, world);          // once: every rank starts from rank 0's parameters and buffers
//   GradientReducer reducer(model, world);       // once: buckets of 1 MiB, then about 25 MiB; hooks on the parameters
//   ... each step:
//   reducer.prepare_for_backward();              // before the (last) backward of the step
//   backward(loss);                              // on CPU a bucket's all-reduce starts once its gradients are in
//   reducer.finish();                            // waits for the rest; every .grad is now the mean over the ranks
//
// Buckets hold the parameters in reverse registration order (the order backward produces their gradients,
// as DDP's) and start strictly in that order on every rank, so the ranks' collectives always match. A
// parameter that got no gradient on some rank counts as zero there; one that got none on any rank keeps no
// gradient (DDP's find_unused_parameters); until finish() that parameter's bucket, and every later one,
// cannot start (DDP can mark such parameters ready up front). On CUDA the buckets start in finish(), after
// backward. With one rank every call returns at once.
// Deliberately not here: gradients as views into the buckets (DDP copies too, unless asked not to),
// bucket re-ordering after the first step, and compression hooks.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../autograd/node.h"
#include "distributed.h"
#include "module.h"

namespace mdp::nn {

void broadcast_parameters(Module& model, ProcessGroup& group, int root = 0);

struct GradientSyncOptions {
  int64_t bucket_bytes = 25 << 20;       // DDP's bucket_cap_mb = 25
  int64_t first_bucket_bytes = 1 << 20;  // DDP's too: a small first bucket starts early in the backward pass
};

struct GradientSyncStats {
  int64_t buckets = 0, bytes = 0;        // per step
  int64_t started_during_backward = 0;   // buckets whose all-reduce began before backward returned
  double wait_seconds = 0;               // in finish(): the communication the backward pass did not hide
};

class GradientReducer {
 public:
  GradientReducer(Module& model, ProcessGroup& group, const GradientSyncOptions& options = {});
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Arms the hooks for the next backward pass. With gradient accumulation, call it before the last
  // micro-batch's backward only (DDP's no_sync for the others). Without it, finish() does all the work.
  void prepare_for_backward();
  // Starts the buckets not started yet, waits for all and writes the mean over the ranks into every .grad.
  GradientSyncStats finish();

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    int64_t numel = 0;
    int64_t pending = 0;  // gradients still to come in the armed backward pass
    Tensor flat;          // (numel) float32, on the gradients' device
    std::unique_ptr<Work> work;
  };
  void on_gradient(size_t param);
  void start(Bucket& b);

  ProcessGroup& group_;
  std::unique_ptr<ProcessGroup> grad_group_;  // group_.duplicate(): the buckets' all-reduces on CPU
  std::vector<std::string> names_;
  std::vector<Tensor> params_;
  std::vector<size_t> bucket_of_;
  std::vector<uint8_t> ready_;  // per parameter, in the armed backward pass
  std::vector<Bucket> buckets_;
  std::vector<HookHandle> hooks_;
  size_t next_bucket_ = 0;  // buckets before it have started
  bool armed_ = false;
  GradientSyncStats stats_;
};

}  // namespace mdp::nn
