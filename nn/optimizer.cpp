// optimizer.cpp: SGD, AdamW, parameter groups, gradient clipping.
#include "nn/optimizer.h"

#include <cmath>

#include "tensor/error.h"

namespace mdp::nn {

std::vector<ParamGroup> make_param_groups(const Module& model, const ParamGroupRules& rules) {
  // group index = (is_head ? 2 : 0) + (no_decay ? 1 : 0)
  std::vector<ParamGroup> g(4);
  for (auto& [name, t] : model.named_parameters()) {
    if (!t.requires_grad()) continue;
    bool head = false;
    for (auto& p : rules.head_prefixes) head |= name.rfind(p, 0) == 0;
    bool no_decay = rules.no_decay_for_norms_and_biases && t.dim() <= 1;
    g[size_t((head ? 2 : 0) + (no_decay ? 1 : 0))].params.emplace_back(name, t);
  }
  std::vector<ParamGroup> out;
  for (size_t i = 0; i < 4; ++i) {
    if (g[i].params.empty()) continue;
    g[i].lr_mult = i >= 2 ? rules.head_lr_mult : 1.0;
    g[i].weight_decay = (i % 2) ? 0.0 : -1;
    out.push_back(std::move(g[i]));
  }
  return out;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, double lr) : groups_(std::move(groups)), lr_(lr) {
  for (auto& g : groups_)
    for (auto& [n, t] : g.params) {
      MDP_CHECK(t.defined() && is_floating(t.dtype()), "optimizer: parameter '{}' is not a floating tensor", n);
      MDP_CHECK(t.is_contiguous(), "optimizer: parameter '{}' is not contiguous", n);
    }
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& [n, t] : g.params) {
      Tensor p = t;
      p.set_grad(Tensor());
    }
}

int64_t Optimizer::state_bytes() const {
  int64_t b = 0;
  for (auto& [n, t] : state()) b += t.numel() * int64_t(t.element_size());
  return b;
}

namespace {
Tensor checked_grad(const std::string& name, const Tensor& p) {
  Tensor g = p.grad();
  if (!g.defined()) return g;
  MDP_CHECK(g.shape() == p.shape(), "optimizer: gradient of '{}' has shape {}, parameter {}", name, shape_str(g.shape()),
            shape_str(p.shape()));
  return ops::contiguous(ops::to(g, p.dtype()));
}

const Tensor* find(const NamedTensors& s, const std::string& name) {
  for (auto& [n, t] : s) if (n == name) return &t;
  return nullptr;
}

void load_slot(Tensor& slot, const NamedTensors& s, const std::string& name, const Tensor& param) {
  const Tensor* t = find(s, name);
  if (!t) return;  // no state yet for this parameter (it never had a gradient)
  MDP_CHECK(t->shape() == param.shape(), "optimizer state '{}' has shape {}, parameter has {}", name,
            shape_str(t->shape()), shape_str(param.shape()));
  slot = ops::clone(ops::to(ops::to(*t, param.dtype()), param.device()));
}
}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& o) : Optimizer(std::move(groups), o.lr), o_(o) {
  MDP_CHECK(o.lr >= 0 && o.momentum >= 0 && o.weight_decay >= 0, "SGD: invalid lr {} / momentum {} / weight_decay {}",
            o.lr, o.momentum, o.weight_decay);
  MDP_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD: nesterov needs momentum > 0 and dampening 0");
  for (auto& g : groups_) momentum_.emplace_back(g.params.size());
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      auto& [name, p] = g.params[i];
      Tensor grad = checked_grad(name, p);
      if (!grad.defined()) continue;
      ops::SgdArgs a{lr_ * g.lr_mult, o_.momentum, o_.dampening, g.weight_decay >= 0 ? g.weight_decay : o_.weight_decay,
                     o_.nesterov, false};
      Tensor& buf = momentum_[gi][i];
      if (o_.momentum != 0 && !buf.defined()) {
        buf = ops::zeros_like(p);
        a.first_step = true;
      }
      ops::sgd_update_(p, grad, buf, a);
    }
  }
  ++steps_;
}

NamedTensors SGD::state() const {
  NamedTensors s;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t i = 0; i < groups_[gi].params.size(); ++i)
      if (momentum_[gi][i].defined()) s.emplace_back(groups_[gi].params[i].first + ".momentum_buffer", momentum_[gi][i]);
  return s;
}

void SGD::load_state(const NamedTensors& s) {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t i = 0; i < groups_[gi].params.size(); ++i)
      load_slot(momentum_[gi][i], s, groups_[gi].params[i].first + ".momentum_buffer", groups_[gi].params[i].second);
}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& o) : Optimizer(std::move(groups), o.lr), o_(o) {
  MDP_CHECK(o.lr >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps > 0,
            "AdamW: invalid lr {} / betas ({}, {}) / eps {}", o.lr, o.beta1, o.beta2, o.eps);
  for (auto& g : groups_) {
    m_.emplace_back(g.params.size());
    v_.emplace_back(g.params.size());
  }
}

void AdamW::step() {
  NoGradGuard no_grad;
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      auto& [name, p] = g.params[i];
      Tensor grad = checked_grad(name, p);
      if (!grad.defined()) continue;
      if (!m_[gi][i].defined()) {
        m_[gi][i] = ops::zeros_like(p);
        v_[gi][i] = ops::zeros_like(p);
      }
      ops::adamw_update_(p, grad, m_[gi][i], v_[gi][i],
                         {lr_ * g.lr_mult, o_.beta1, o_.beta2, o_.eps,
                          g.weight_decay >= 0 ? g.weight_decay : o_.weight_decay, steps_});
    }
  }
}

NamedTensors AdamW::state() const {
  NamedTensors s;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t i = 0; i < groups_[gi].params.size(); ++i)
      if (m_[gi][i].defined()) {
        s.emplace_back(groups_[gi].params[i].first + ".exp_avg", m_[gi][i]);
        s.emplace_back(groups_[gi].params[i].first + ".exp_avg_sq", v_[gi][i]);
      }
  // The step count sets the bias correction: without it a resumed run would restart at 1 - beta^1.
  if (!s.empty()) s.emplace_back("adamw.step", ops::full({}, double(steps_), DType::Int64));
  return s;
}

void AdamW::load_state(const NamedTensors& s) {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      load_slot(m_[gi][i], s, groups_[gi].params[i].first + ".exp_avg", groups_[gi].params[i].second);
      load_slot(v_[gi][i], s, groups_[gi].params[i].first + ".exp_avg_sq", groups_[gi].params[i].second);
    }
  // State saved by mdp before 2026-12-07 has no step count; it resumes as it always did (from step 0).
  if (const Tensor* t = find(s, "adamw.step")) {
    MDP_CHECK(t->numel() == 1, "optimizer state 'adamw.step' must be one count, got {} values", t->numel());
    const double n = t->item();
    MDP_CHECK(n >= 0 && n == std::floor(n), "optimizer state 'adamw.step' must be a count >= 0, got {}", n);
    steps_ = int64_t(n);
  }
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  NoGradGuard no_grad;
  double total = 0;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    total += ops::sum(ops::mul(ops::to(g, DType::Float64), ops::to(g, DType::Float64))).item();
  }
  double norm = std::sqrt(total);
  double coef = max_norm / (norm + 1e-6);  // as torch.nn.utils.clip_grad_norm_
  if (coef < 1)
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      Tensor pp = p;
      pp.set_grad(ops::mul(g, coef));
    }
  return norm;
}

}  // namespace mdp::nn
