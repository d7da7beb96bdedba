// optimizer.h: SGD (momentum, Nesterov, weight decay) and AdamW as torch.optim computes them, over
// parameter groups with their own learning-rate multiplier and weight decay (e.g. no decay for norms
// and biases, a larger rate for heads); gradient clipping by global norm. Each step is one fused
// in-place update per parameter (ops::sgd_update_, ops::adamw_update_). Parameters whose .grad is
// undefined are skipped, as in PyTorch. Gradient accumulation over micro-batches needs nothing here:
// backward adds into .grad until zero_grad().
#pragma once
#include <string>
#include <vector>

#include "module.h"

namespace mdp::nn {

struct ParamGroup {
  NamedTensors params;
  double lr_mult = 1.0;
  double weight_decay = -1;  // -1: the optimizer's default
};

struct ParamGroupRules {
  bool no_decay_for_norms_and_biases = false;  // 1-D parameters (BN weight/bias, conv/linear bias)
  std::vector<std::string> head_prefixes;      // parameter names starting with one of these ...
  double head_lr_mult = 1.0;                   // ... get this learning-rate multiplier
};
// Splits a model's trainable parameters into groups by the rules (at most four groups).
std::vector<ParamGroup> make_param_groups(const Module& model, const ParamGroupRules& rules = {});

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  void set_lr(double base_lr) { lr_ = base_lr; }  // the schedule's value; groups apply their multiplier
  double lr() const { return lr_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Optimizer state as named tensors ("<param name>.<slot>"), and the step count, for checkpoints.
  virtual NamedTensors state() const = 0;
  virtual void load_state(const NamedTensors& state) = 0;  // throws naming a missing or mis-shaped slot
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }
  int64_t state_bytes() const;

 protected:
  Optimizer(std::vector<ParamGroup> groups, double lr);
  std::vector<ParamGroup> groups_;
  double lr_;
  int64_t steps_ = 0;
};

struct SGDOptions {
  double lr = 0.01, momentum = 0.9, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& o);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;

 private:
  SGDOptions o_;
  std::vector<std::vector<Tensor>> momentum_;  // per group, per parameter; undefined until first step
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& o);
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;

 private:
  AdamWOptions o_;
  std::vector<std::vector<Tensor>> m_, v_;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace mdp::nn
