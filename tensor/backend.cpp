// backend.cpp: the op table's defaults (every op throws until a backend provides it, except the fused
// ops, which default to their parts) and the choice of backend for a tensor.
#include "tensor/backend.h"

#include "tensor/error.h"
#include "tensor/cuda_plugin.h"

namespace mdp {

void Backend::missing(const char* op) const {
  throw Error(fmt::format("{}: not implemented by the {} backend", op, name()));
}

void Backend::copy(const Tensor&, const Tensor&) { missing("copy"); }
void Backend::fill(const Tensor&, double) { missing("fill"); }
void Backend::binary(ops::BinaryOp, const Tensor&, const Tensor&, const Tensor&) { missing("binary"); }
void Backend::binary_scalar(ops::BinaryOp, const Tensor&, const Tensor&, double) { missing("binary_scalar"); }
void Backend::unary(ops::UnaryOp, const Tensor&, const Tensor&) { missing("unary"); }
void Backend::compare(ops::CompareOp, const Tensor&, const Tensor&, const Tensor&) { missing("compare"); }
void Backend::where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { missing("where"); }
void Backend::axpby(const Tensor&, double, const Tensor&, double) { missing("axpby"); }
void Backend::sgd_update(const Tensor&, const Tensor&, const Tensor&, const ops::SgdArgs&) { missing("sgd_update"); }
void Backend::adamw_update(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ops::AdamWArgs&) {
  missing("adamw_update");
}
void Backend::reduce(ops::ReduceOp, const Tensor&, const Tensor&) { missing("reduce"); }
void Backend::arg_reduce(bool, const Tensor&, const Tensor&, const Tensor&, int64_t) { missing("arg_reduce"); }
void Backend::matmul(const Tensor&, const Tensor&, const Tensor&) { missing("matmul"); }
void Backend::conv2d(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ops::Conv2dArgs&) { missing("conv2d"); }
void Backend::conv2d_backward(const ops::Conv2dGrads&, const Tensor&, const Tensor&, const Tensor&, const ops::Conv2dArgs&) {
  missing("conv2d_backward");
}
void Backend::batch_norm(const ops::BatchNormResult&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, bool, double, double) { missing("batch_norm"); }
void Backend::batch_norm_backward(const ops::BatchNormGrads&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, bool) { missing("batch_norm_backward"); }
void Backend::batch_norm_relu(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight,
                              const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                              bool training, double momentum, double eps, const Tensor& residual) {
  batch_norm(out, x, weight, bias, running_mean, running_var, training, momentum, eps);
  if (residual.defined()) binary(ops::BinaryOp::Add, out.y, out.y, residual);
  unary(ops::UnaryOp::Relu, out.y, out.y);
}
void Backend::batch_norm_relu_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y,
                                       const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                       const Tensor& save_invstd, bool training) {
  Tensor masked = out.dresidual.defined() ? out.dresidual : ops::empty_like(dy);
  binary(ops::BinaryOp::ReluGrad, masked, dy, y);  // dy where y > 0
  batch_norm_backward(out, masked, x, weight, save_mean, save_invstd, training);
}
void Backend::max_pool2d(const Tensor&, const Tensor&, const Tensor&, const ops::Pool2dArgs&) { missing("max_pool2d"); }
void Backend::max_pool2d_backward(const Tensor&, const Tensor&, const Tensor&) { missing("max_pool2d_backward"); }
void Backend::avg_pool2d(const Tensor&, const Tensor&, const ops::Pool2dArgs&) { missing("avg_pool2d"); }
void Backend::avg_pool2d_backward(const Tensor&, const Tensor&, const ops::Pool2dArgs&) { missing("avg_pool2d_backward"); }
void Backend::adaptive_avg_pool2d(const Tensor&, const Tensor&) { missing("adaptive_avg_pool2d"); }
void Backend::adaptive_avg_pool2d_backward(const Tensor&, const Tensor&) { missing("adaptive_avg_pool2d_backward"); }
void Backend::resize_bilinear(const Tensor&, const Tensor&, bool) { missing("resize_bilinear"); }
void Backend::resize_bilinear_backward(const Tensor&, const Tensor&, bool) { missing("resize_bilinear_backward"); }
void Backend::resize_nearest(const Tensor&, const Tensor&) { missing("resize_nearest"); }
void Backend::resize_nearest_backward(const Tensor&, const Tensor&) { missing("resize_nearest_backward"); }
void Backend::softmax(const Tensor&, const Tensor&, int64_t, bool) { missing("softmax"); }
void Backend::softmax_backward(const Tensor&, const Tensor&, const Tensor&, int64_t, bool) { missing("softmax_backward"); }
void Backend::cross_entropy(const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t) { missing("cross_entropy"); }
void Backend::cross_entropy_backward(const Tensor&, double, const Tensor&, const Tensor&, const Tensor&, int64_t) {
  missing("cross_entropy_backward");
}
void Backend::gather(const Tensor&, const Tensor&, int64_t, const Tensor&) { missing("gather"); }
void Backend::scatter_add(const Tensor&, int64_t, const Tensor&, const Tensor&) { missing("scatter_add"); }
void Backend::scatter(const Tensor&, int64_t, const Tensor&, const Tensor&) { missing("scatter"); }
void Backend::index_select(const Tensor&, const Tensor&, int64_t, const Tensor&) { missing("index_select"); }
void Backend::index_add(const Tensor&, int64_t, const Tensor&, const Tensor&) { missing("index_add"); }
void Backend::one_hot(const Tensor&, const Tensor&) { missing("one_hot"); }
void Backend::topk(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t, bool) { missing("topk"); }

namespace {
thread_local bool t_reference = false;
}  // namespace

Backend& backend_for(const Tensor& t) {
  if (t.device().is_cuda()) {
    std::string why;
    if (const CudaPlugin* plugin = cuda_plugin(&why)) return plugin->backend();
    throw Error(fmt::format("device {}: {}", t.device().str(), why));
  }
  return t_reference ? reference_backend() : cpu_backend();
}

ReferenceScope::ReferenceScope() : previous(t_reference) { t_reference = true; }
ReferenceScope::~ReferenceScope() { t_reference = previous; }

}  // namespace mdp
