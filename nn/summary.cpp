// summary.cpp: the layer table.
#include "nn/summary.h"

#include <fmt/format.h>

#include "nn/layers.h"

namespace mdp::nn {
namespace {
thread_local SummaryScope* t_scope = nullptr;

std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) { v /= 1000; ++i; }
  return fmt::format("{:.2f} {}{}", v, prefixes[i], unit);
}
std::string bytes(int64_t b) {
  double v = double(b);
  const char* u[] = {"B", "KiB", "MiB", "GiB"};
  int i = 0;
  while (v >= 1024 && i < 3) { v /= 1024; ++i; }
  return fmt::format("{:.1f} {}", v, u[i]);
}
}  // namespace

SummaryScope::SummaryScope(Module& root) : previous_(t_scope) {
  for (auto& [name, m] : root.named_modules()) names_.emplace_back(m, name.empty() ? "(model)" : name);
  t_scope = this;
}
SummaryScope::~SummaryScope() { t_scope = previous_; }

SummaryScope::Frame::Frame(Module* m) : module(m), depth(0), active(t_scope != nullptr) {
  if (!active) return;
  SummaryScope& s = *t_scope;
  depth = s.depth_++;
  row = s.rows_.size();
  std::string name = "?";
  for (auto& [mm, n] : s.names_) if (mm == m) name = n;
  s.rows_.push_back({name, m->type_name(), {}, 0, 0, depth});
}

void SummaryScope::Frame::done(const Tensor& y) {
  if (!active || !t_scope) return;
  SummaryScope& s = *t_scope;
  s.depth_--;
  LayerRow& r = s.rows_[row];
  r.output = y.defined() ? y.shape() : Shape{};
  for (auto& [n, t] : module->named_parameters(false)) r.params += t.numel();
  r.flops = layer_flops(*module, r.output);
}

ModelSummary summarize(Module& model, const Shape& input_shape) {
  ModelSummary s;
  // Keep batch-norm statistics untouched: run in eval mode, restore the mode afterwards.
  bool was_training = model.is_training();
  model.eval();
  {
    NoGradGuard no_grad;
    SummaryScope scope(model);
    model(ops::zeros(input_shape));
    s.rows = scope.rows();
  }
  model.train(was_training);
  for (auto& r : s.rows) s.total_flops += r.flops;
  for (auto& [n, t] : model.named_parameters()) {
    s.total_params += t.numel();
    s.param_bytes += t.numel() * int64_t(t.element_size());
    if (t.requires_grad()) {
      s.trainable_params += t.numel();
      s.grad_bytes += t.numel() * int64_t(t.element_size());
    }
  }
  return s;
}

std::string ModelSummary::table(int64_t optimizer_state_bytes) const {
  std::string out = fmt::format("{:<48} {:<18} {:<22} {:>12} {:>12}\n", "layer", "type", "output", "params", "FLOPs");
  for (const LayerRow& r : rows) {
    std::string name = std::string(size_t(r.depth) * 2, ' ') + r.name;
    out += fmt::format("{:<48} {:<18} {:<22} {:>12} {:>12}\n", name, r.type, shape_str(r.output),
                       r.params ? fmt::format("{}", r.params) : std::string(""),
                       r.flops ? human(double(r.flops), "") : std::string(""));
  }
  out += fmt::format("parameters: {} ({} trainable); forward FLOPs: {}\n", total_params, trainable_params,
                     human(double(total_flops), "FLOP"));
  out += fmt::format("memory: parameters {}, gradients {}", bytes(param_bytes), bytes(grad_bytes));
  if (optimizer_state_bytes >= 0) out += fmt::format(", optimizer state {}", bytes(optimizer_state_bytes));
  return out + "\n";
}

}  // namespace mdp::nn
