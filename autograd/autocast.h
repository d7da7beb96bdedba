// autocast.h: bf16 mixed precision as an option, like torch.autocast(dtype=torch.bfloat16). While an
// AutocastGuard is enabled on a thread, the differentiable conv2d and matmul (hence nn::Conv2d and
// nn::Linear) of that thread cast their float32 inputs and weights to bfloat16 with the differentiable
// to() (its backward casts the gradient back) and compute with bf16 operands and float32 accumulation.
// conv2d returns bf16, as torch.autocast's does, so the activations of a network stay bf16 from layer
// to layer: batch norm, ReLU, pooling and residual adds run on bf16 tensors (float32 arithmetic inside,
// float32 parameters), which halves their memory and traffic. matmul returns float32, and the models
// return float32 (DeepLabV3's logits and the MDP projection head's embeddings are cast before the
// upsampling and the normalisation), so losses, softmax and the prototype bank stay float32.
// Parameters, their gradients and optimizer state stay float32 ("master weights"); a conv's weight
// gradient is accumulated in float32 and arrives in float32.
// Not here: float16, loss scaling (bf16 has float32's range), casting of any other op, a weight-cast
// cache (each forward casts each weight once, a small pass next to the activations).
// The state is thread-local, as PyTorch's: a guard on one thread leaves other threads alone. Backward
// passes do not consult it; they follow the dtypes recorded in the forward.
#pragma once
#include "../tensor/dtype.h"

namespace mdp {

// True while an enabled AutocastGuard is alive on this thread.
bool autocast_enabled();
// The lower-precision dtype of the current autocast scope (BFloat16, the only one supported).
DType autocast_dtype();

class AutocastGuard {
 public:
  // enabled = false turns autocast off inside the scope (e.g. a float32 island in an autocast region).
  explicit AutocastGuard(bool enabled, DType dtype = DType::BFloat16);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool prev_enabled_;
  DType prev_dtype_;
};

}  // namespace mdp
