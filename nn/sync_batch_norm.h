// sync_batch_norm.h: batch normalisation whose statistics span every rank's batch (SyncBN, as
// torch.nn.SyncBatchNorm), optionally fused with the residual add and ReLU, as one autograd node.
// BatchNorm2d calls it when training with sync_stats under more than one rank; a single process never
// does. Not here: the module and its running statistics' ownership (nn/layers.h), the transport (nn/distributed.h).
#pragma once
#include "../tensor/tensor.h"

namespace mdp::nn {

struct SyncBatchNormArgs {
  Tensor weight, bias;               // (C) each, or undefined (affine = false)
  Tensor running_mean, running_var;  // (C) each, updated in place; or undefined
  double momentum = 0.1, eps = 1e-5;
  bool relu = false;                 // y = relu(bn(x) + residual)
  Tensor residual;                   // (N, C, H, W) like x, or undefined; only with relu
};

// x (N, C, H, W) -> (N, C, H, W) in x's dtype (computed in float32). Over all ranks' n = sum N H W values
// per channel, in two passes (one all-reduce of C + 1 numbers, then one of C):
//   mean = sum x / n,  var = sum (x - mean)^2 / n,  y = (x - mean) / sqrt(var + eps) * weight + bias.
// The output comes from the fused batch-norm kernel given those statistics. Backward, with g the gradient
// after the ReLU mask and xhat the normalised input, one all-reduce of 2 C numbers:
//   dx = weight / sqrt(var + eps) * (g - sum_all g / n - xhat * sum_all (g xhat) / n),
//   dweight = sum_local (g xhat), dbias = sum_local g, dresidual = g
// (dx is the gradient of the sum of all ranks' losses, as the differentiable all-reduce gives it; the
// parameters' local gradients are averaged with the others by the gradient reducer). The running
// statistics take the unbiased variance n / (n - 1) var, as torch.
Tensor sync_batch_norm(const Tensor& x, const SyncBatchNormArgs& a);

}  // namespace mdp::nn
