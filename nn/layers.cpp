// layers.cpp: the standard layers.
#include "nn/layers.h"

#include <cmath>

#include "nn/distributed.h"
#include "nn/summary.h"
#include "nn/sync_batch_norm.h"
#include "tensor/error.h"

namespace mdp::nn {
namespace {
Tensor uniform(const Shape& s, double bound) {
  return ops::add(ops::mul(ops::rand(s, DType::Float32, &default_generator()), 2 * bound), -bound);
}
}  // namespace

Conv2d::Conv2d(const Conv2dOptions& o) : in_channels(o.in), out_channels(o.out), kernel_size(o.kernel) {
  const int64_t in = o.in, out = o.out, k = o.kernel, groups = o.groups;
  MDP_CHECK(in > 0 && out > 0 && k > 0 && groups > 0 && in % groups == 0 && out % groups == 0,
            "Conv2d: invalid channels {} -> {} with kernel {} and groups {}", in, out, k, groups);
  MDP_CHECK(o.stride > 0 && o.padding >= 0 && o.dilation > 0, "Conv2d: invalid stride {}, padding {} or dilation {}", o.stride,
            o.padding, o.dilation);
  args = {{o.stride, o.stride}, {o.padding, o.padding}, {o.dilation, o.dilation}, groups};
  const bool has_bias = o.bias;
  double bound = 1.0 / std::sqrt(double(in / groups * k * k));  // kaiming_uniform(a = sqrt(5))
  weight = register_parameter("weight", uniform({out, in / groups, k, k}, bound));
  if (has_bias) bias = register_parameter("bias", uniform({out}, bound));
}

Tensor Conv2d::forward(const Tensor& x) {
  MDP_CHECK(x.dim() == 4 && x.size(1) == in_channels, "Conv2d({} -> {}): input {} must be (N, {}, H, W)", in_channels,
            out_channels, shape_str(x.shape()), in_channels);
  return conv2d(x, weight, bias, args);
}

BatchNorm2d::BatchNorm2d(int64_t c, const BatchNorm2dOptions& o) : eps(o.eps), momentum(o.momentum) {
  const bool affine = o.affine, track = o.track_running_stats;
  if (affine) {
    weight = register_parameter("weight", ops::ones({c}));
    bias = register_parameter("bias", ops::zeros({c}));
  }
  if (track) {
    running_mean = register_buffer("running_mean", ops::zeros({c}));
    running_var = register_buffer("running_var", ops::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", ops::zeros({}, DType::Int64));
  }
}

// Running statistics are updated only while training; in eval they normalise.
bool BatchNorm2d::count_batch() {
  if (is_training() && num_batches_tracked.defined()) {
    int64_t* n = num_batches_tracked.data<int64_t>();
    *n += 1;
  }
  return is_training() || !running_mean.defined();  // use the batch statistics
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  bool use_batch_stats = count_batch();
  if (sync_stats && is_training() && world().size() > 1) return forward_synced(x, false, Tensor());
  return batch_norm(x, weight, bias, running_mean, running_var, use_batch_stats, momentum, eps);
}

Tensor BatchNorm2d::forward_relu(const Tensor& x, const Tensor& residual) {
  SummaryScope::Frame frame(this);  // a row of the layer table, as operator() records (its FLOPs count)
  bool use_batch_stats = count_batch();
  Tensor y;
  if (sync_stats && is_training() && world().size() > 1) {
    y = forward_synced(x, true, residual);
  } else {
    y = batch_norm_relu(x, weight, bias, running_mean, running_var, use_batch_stats, momentum, eps, residual);
  }
  frame.done(y);
  return y;
}

Tensor BatchNorm2d::forward_synced(const Tensor& x, bool relu, const Tensor& residual) {
  return sync_batch_norm(x, {.weight = weight, .bias = bias, .running_mean = running_mean, .running_var = running_var,
                             .momentum = momentum, .eps = eps, .relu = relu, .residual = residual});
}

void convert_sync_batchnorm(Module& m, bool on) {
  for (auto& [name, child] : m.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(child)) bn->sync_stats = on;
}

void set_dropout(Module& m, double p) {
  MDP_CHECK(p >= 0 && p < 1, "set_dropout: probability {} is not in [0, 1)", p);
  for (auto& [name, child] : m.named_modules()) {
    if (auto* d = dynamic_cast<Dropout*>(child)) d->p = p;
    if (auto* d = dynamic_cast<Dropout2d*>(child)) d->p = p;
  }
}

Linear::Linear(int64_t in, int64_t out, bool has_bias) {
  double bound = 1.0 / std::sqrt(double(in));
  weight = register_parameter("weight", uniform({out, in}, bound));
  if (has_bias) bias = register_parameter("bias", uniform({out}, bound));
}

Tensor Linear::forward(const Tensor& x) {
  MDP_CHECK(x.dim() == 2 && x.size(1) == weight.size(1), "Linear({} -> {}): input {} must be (N, {})", weight.size(1),
            weight.size(0), shape_str(x.shape()), weight.size(1));
  Tensor y = matmul(x, weight, false, true);
  return bias.defined() ? add(y, bias) : y;
}

MaxPool2d::MaxPool2d(const MaxPool2dOptions& o) {
  const int64_t stride = o.stride == 0 ? o.kernel : o.stride;
  MDP_CHECK(o.kernel > 0 && stride > 0 && o.padding >= 0, "MaxPool2d: invalid kernel {}, stride {} or padding {}", o.kernel,
            o.stride, o.padding);
  args = {{o.kernel, o.kernel}, {stride, stride}, {o.padding, o.padding}, o.ceil_mode, true};
}

Sequential::Sequential(std::vector<ModulePtr> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(ModulePtr m) {
  add_child(std::to_string(modules_.size()), m);
  modules_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (size_t i = 0; i < modules_.size(); ++i) {
    auto* bn = dynamic_cast<BatchNorm2d*>(modules_[i].get());
    if (bn && i + 1 < modules_.size() && dynamic_cast<ReLU*>(modules_[i + 1].get())) {
      y = bn->forward_relu(y);  // records the batch norm's row itself
      SummaryScope::Frame relu_frame(modules_[++i].get());
      relu_frame.done(y);
      continue;
    }
    y = (*modules_[i])(y);
  }
  return y;
}

int64_t layer_flops(const Module& m, const Shape& out) {
  if (out.empty()) return 0;
  int64_t n_out = shape_numel(out);
  if (auto* c = dynamic_cast<const Conv2d*>(&m))
    return 2 * n_out * (c->in_channels / c->args.groups) * c->kernel_size * c->kernel_size;
  if (auto* l = dynamic_cast<const Linear*>(&m)) return 2 * n_out * l->weight.size(1);
  if (dynamic_cast<const BatchNorm2d*>(&m)) return 2 * n_out;
  return 0;
}

}  // namespace mdp::nn
