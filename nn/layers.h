// layers.h: the standard layers with PyTorch's parameter names, shapes and defaults: Conv2d, BatchNorm2d,
// ReLU, MaxPool2d, AdaptiveAvgPool2d, Linear, Dropout, Dropout2d, Identity, Sequential. Initialisation
// follows torch.nn (kaiming-uniform(a=sqrt(5)) weights, uniform bias) unless a model re-initialises.
// Initialisers and dropout masks draw from mdp::default_generator(): seed it with mdp::manual_seed.
#pragma once
#include "module.h"
#include "../tensor/random.h"

namespace mdp::nn {

// torch.nn.Conv2d's arguments, named: Conv2d({.in = 64, .out = 64, .kernel = 3, .padding = 1, .bias = false}).
struct Conv2dOptions {
  int64_t in = 0, out = 0, kernel = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& o);
  Conv2d(int64_t in, int64_t out, int64_t kernel) : Conv2d(Conv2dOptions{.in = in, .out = out, .kernel = kernel}) {}
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, Ho, Wo)
  const char* type_name() const override { return "Conv2d"; }
  Tensor weight, bias;  // (out, in/groups, k, k), (out) or undefined
  Conv2dArgs args;
  int64_t in_channels, out_channels, kernel_size;
};

// torch.nn.BatchNorm2d's arguments after the channel count, named.
struct BatchNorm2dOptions {
  double eps = 1e-5, momentum = 0.1;
  bool affine = true, track_running_stats = true;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t features, const BatchNorm2dOptions& options = {});
  Tensor forward(const Tensor& x) override;
  // relu(forward(x) + residual) as one fused op (autograd batch_norm_relu); residual may be undefined.
  Tensor forward_relu(const Tensor& x, const Tensor& residual = Tensor());
  const char* type_name() const override { return "BatchNorm2d"; }
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;  // (C) ×4, int64 scalar
  double eps, momentum;
  // Synchronised batch norm (torch.nn.SyncBatchNorm): in training, the statistics are those of the
  // batches of every rank of the distributed world (distributed.h), forward and backward; with one rank,
  // or in eval, it is the ordinary op. Set by convert_sync_batchnorm().
  bool sync_stats = false;

 private:
  bool count_batch();  // counts a training batch; true when the batch statistics normalise
  // training with sync_stats over more than one rank (nn/sync_batch_norm.h)
  Tensor forward_synced(const Tensor& x, bool relu, const Tensor& residual);
};

// Every BatchNorm2d under m synchronises its statistics across ranks (or stops, with on = false).
void convert_sync_batchnorm(Module& m, bool on = true);
// Every Dropout / Dropout2d under m drops with probability p (MMSeg's dropout_ratio; 0 disables).
void set_dropout(Module& m, double p);

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override;  // (N, in) -> (N, out)
  const char* type_name() const override { return "Linear"; }
  Tensor weight, bias;  // (out, in), (out)
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  const char* type_name() const override { return "ReLU"; }
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  const char* type_name() const override { return "Identity"; }
};

struct MaxPool2dOptions {
  int64_t kernel = 1;
  int64_t stride = 0;  // 0: the kernel size, as torch.nn.MaxPool2d's default
  int64_t padding = 0;
  bool ceil_mode = false;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& o);
  Tensor forward(const Tensor& x) override { return max_pool2d(x, args); }
  const char* type_name() const override { return "MaxPool2d"; }
  Pool2dArgs args;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t h, int64_t w) : out_h(h), out_w(w) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, out_h, out_w); }
  const char* type_name() const override { return "AdaptiveAvgPool2d"; }
  int64_t out_h, out_w;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5) : p(p) {}
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training(), &default_generator()); }
  const char* type_name() const override { return "Dropout"; }
  double p;
};

class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5) : p(p) {}
  Tensor forward(const Tensor& x) override { return dropout2d(x, p, is_training(), &default_generator()); }
  const char* type_name() const override { return "Dropout2d"; }
  double p;
};

// Children named "0", "1", ... applied in order.
// Runs its modules in order. A BatchNorm2d directly followed by a ReLU runs as one fused op
// (BatchNorm2d::forward_relu: same values and gradients, one pass over memory); summaries still list both.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<ModulePtr> modules);
  void push_back(ModulePtr m);
  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "Sequential"; }
  Module& operator[](size_t i) const { return *modules_.at(i); }
  size_t size() const { return modules_.size(); }

 private:
  std::vector<ModulePtr> modules_;
};

// FLOPs of one call of a leaf layer (multiply-add = 2), for summaries.
int64_t layer_flops(const Module& m, const Shape& output);

}  // namespace mdp::nn
