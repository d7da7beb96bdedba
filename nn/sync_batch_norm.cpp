// sync_batch_norm.cpp: see sync_batch_norm.h.
#include "sync_batch_norm.h"

#include "../autograd/functions.h"
#include "../autograd/node.h"
#include "../tensor/error.h"
#include "../tensor/ops.h"
#include "distributed.h"

namespace mdp::nn {
namespace {
Tensor per_channel(const Tensor& t) { return ops::view(t, {1, t.size(0), 1, 1}); }  // (C) -> (1, C, 1, 1)
}  // namespace

Tensor sync_batch_norm(const Tensor& x, const SyncBatchNormArgs& a) {
  MDP_CHECK(x.dim() == 4, "SyncBatchNorm: input {} must be (N, C, H, W)", shape_str(x.shape()));
  MDP_CHECK(!a.residual.defined() || a.relu, "SyncBatchNorm: a residual is added only before a ReLU");
  const int64_t C = x.size(1);
  ProcessGroup& world = nn::world();
  Tensor xf, mean, var;
  double n = 0;
  {
    NoGradGuard ng;
    xf = ops::contiguous(ops::to(x, DType::Float32));
    Tensor first = ops::cat({ops::sum(xf, {0, 2, 3}), ops::full({1}, double(x.size(0) * x.size(2) * x.size(3)),
                                                                DType::Float32, x.device())}, 0);  // (C + 1)
    world.all_reduce_sum(first);
    n = ops::to_vector(ops::narrow(first, 0, C, 1))[0];
    MDP_CHECK(n > 1, "SyncBatchNorm: {} values per channel over all ranks; batch norm needs more than one", n);
    mean = ops::contiguous(ops::mul(ops::narrow(first, 0, 0, C), 1.0 / n));  // (C)
    Tensor centred = ops::sub(xf, per_channel(mean));
    var = ops::contiguous(ops::sum(ops::mul(centred, centred), {0, 2, 3}));  // (C)
    world.all_reduce_sum(var);
    var = ops::mul(var, 1.0 / n);
    if (a.running_mean.defined()) {
      ops::copy_(a.running_mean, ops::add(ops::mul(a.running_mean, 1 - a.momentum), ops::mul(mean, a.momentum)));
      ops::copy_(a.running_var,
                 ops::add(ops::mul(a.running_var, 1 - a.momentum), ops::mul(var, a.momentum * n / (n - 1))));
    }
  }
  // The forward values: the fused kernel normalising with the global statistics (its eval mode).
  Tensor residual = a.residual.defined() ? ops::to(a.residual, DType::Float32) : Tensor();
  ops::BatchNormResult r = a.relu ? ops::batch_norm_relu(xf, a.weight, a.bias, mean, var, false, 0, a.eps, residual)
                                  : ops::batch_norm(xf, a.weight, a.bias, mean, var, false, 0, a.eps);
  Tensor y = x.dtype() == DType::Float32 ? r.y : ops::to(r.y, x.dtype());
  record("sync_batch_norm", {x, a.weight, a.bias, a.residual}, {y},
         [xf, yf = detach(r.y), mean, var, n, weight = a.weight, eps = a.eps, relu = a.relu, dtype = x.dtype(),
          has_residual = a.residual.defined(), has_bias = a.bias.defined()](const TensorList& grads) -> TensorList {
           Tensor g = ops::to(grads[0], DType::Float32);
           if (relu) g = ops::binary(ops::BinaryOp::ReluGrad, g, yf);  // 0 where the output is not positive
           // xhat: the same kernel with weight 1, bias 0
           Tensor xhat = ops::batch_norm(xf, Tensor(), Tensor(), mean, var, false, 0, eps).y;
           const int64_t C = xf.size(1);
           Tensor sums = ops::cat({ops::sum(g, {0, 2, 3}), ops::sum(ops::mul(g, xhat), {0, 2, 3})}, 0);  // (2 C)
           Tensor local = ops::clone(sums);
           nn::world().all_reduce_sum(sums);
           Tensor scale = ops::unary(ops::UnaryOp::Rsqrt, ops::add(var, eps));  // (C)
           if (weight.defined()) scale = ops::mul(scale, weight);
           Tensor sum_g = ops::narrow(sums, 0, 0, C), sum_gx = ops::narrow(sums, 0, C, C);
           // dx = scale g + (-scale sum_gx / n) xhat + (-scale sum_g / n)
           Tensor dx = ops::add(ops::add(ops::mul(g, per_channel(scale)),
                                         ops::mul(xhat, per_channel(ops::mul(ops::mul(scale, sum_gx), -1.0 / n)))),
                                per_channel(ops::mul(ops::mul(scale, sum_g), -1.0 / n)));
           TensorList out{dtype == DType::Float32 ? dx : ops::to(dx, dtype), Tensor(), Tensor(), Tensor()};
           if (weight.defined()) out[1] = ops::contiguous(ops::narrow(local, 0, C, C));
           if (has_bias) out[2] = ops::contiguous(ops::narrow(local, 0, 0, C));
           if (has_residual) out[3] = g;
           return out;
         });
  return y;
}

}  // namespace mdp::nn
