// pseudo_label.cpp: cosine scores (N, C, h*w) by one batched matmul, masked argmax over the classes.
#include "mdp/pseudo_label.h"

#include "autograd/node.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {
namespace {
// x / max(||x||, 1e-12) along dim.
Tensor unit(const Tensor& x, int64_t dim) {
  Tensor norm = ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(x, x), {dim}, true));
  return ops::div(x, ops::binary(ops::BinaryOp::Max, norm, 1e-12));
}
}  // namespace

Tensor pseudo_labels(const Tensor& keys, const Tensor& prototypes, const Tensor& filled, double threshold,
                     int64_t ignore_index) {
  NoGradGuard no_grad;
  MDP_CHECK(keys.dim() == 4 && (keys.dtype() == DType::Float32 || keys.dtype() == DType::Float64),
            "pseudo_labels: keys {} {} must be float32/float64 (N, D, h, w)", dtype_name(keys.dtype()),
            shape_str(keys.shape()));
  MDP_CHECK(prototypes.dim() == 2 && prototypes.size(1) == keys.size(1),
            "pseudo_labels: prototypes {} do not match keys {}", shape_str(prototypes.shape()), shape_str(keys.shape()));
  MDP_CHECK(filled.shape() == Shape{prototypes.size(0)}, "pseudo_labels: filled mask {} must be (C) for prototypes {}",
            shape_str(filled.shape()), shape_str(prototypes.shape()));
  const int64_t N = keys.size(0), D = keys.size(1), h = keys.size(2), w = keys.size(3), C = prototypes.size(0);
  const Device dev = keys.device();
  Tensor ok = ops::compare(ops::CompareOp::Ne, ops::to(ops::to(filled, DType::Float64), dev), 0.0);  // (C) bool
  const int64_t num_filled = int64_t(ops::sum(ops::to(ok, DType::Int64)).item());
  if (num_filled == 0 || N * h * w == 0) return ops::full({N, h, w}, double(ignore_index), DType::Int64, dev);

  Tensor k = unit(ops::reshape(keys, {N, D, h * w}), 1);                               // (N, D, S)
  Tensor p = unit(ops::to(ops::to(prototypes, keys.dtype()), dev), 1);                 // (C, D)
  Tensor cos = ops::matmul(ops::unsqueeze(p, 0), k);                                   // (N, C, S)
  Tensor masked = ops::full({}, -1e30, keys.dtype(), dev);                             // below any cosine
  cos = ops::where(ops::reshape(ok, {1, C, 1}), cos, masked);
  auto [best, label] = ops::max_dim(cos, 1);                                           // (N, S)
  if (threshold > -1) {
    Tensor low = ops::compare(ops::CompareOp::Lt, best, threshold);
    label = ops::where(low, ops::full({}, double(ignore_index), DType::Int64, dev), label);
  }
  return ops::reshape(label, {N, h, w});
}

}  // namespace mdp
