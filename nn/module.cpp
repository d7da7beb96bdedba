// module.cpp: registration, traversal in PyTorch order, train/eval, device and dtype moves.
#include "nn/module.h"

#include "nn/summary.h"
#include "tensor/error.h"

namespace mdp::nn {

Tensor Module::operator()(const Tensor& x) {
  SummaryScope::Frame frame(this);
  Tensor y = forward(x);
  frame.done(y);
  return y;
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  MDP_CHECK(name.find('.') == std::string::npos, "register_parameter: name '{}' contains a dot", name);
  if (t.defined() && requires_grad) t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  MDP_CHECK(name.find('.') == std::string::npos, "register_buffer: name '{}' contains a dot", name);
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  MDP_CHECK(m != nullptr, "register_module: child '{}' is null", name);
  for (auto& [n, c] : children_) MDP_CHECK(n != name, "register_module: child '{}' registered twice", name);
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool buffers, bool recurse, NamedTensors& out) const {
  if (params)
    for (auto& [n, t] : params_) if (t.defined()) out.emplace_back(prefix + n, t);
  if (buffers)
    for (auto& [n, t] : buffers_) if (t.defined()) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (auto& [n, c] : children_) c->collect(prefix + n + ".", params, buffers, true, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors r;
  collect("", true, false, recurse, r);
  return r;
}
NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors r;
  collect("", false, true, recurse, r);
  return r;
}
NamedTensors Module::state_dict() const {
  NamedTensors r;
  collect("", true, true, true, r);
  return r;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> r;
  for (auto& [n, t] : named_parameters()) r.push_back(t);
  return r;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> r;
  for (auto& [n, c] : children_) r.emplace_back(n, c.get());
  return r;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, Module*>> r{{prefix, this}};
  for (auto& [n, c] : children_) {
    auto sub = c->named_modules(prefix.empty() ? n : prefix + "." + n);
    r.insert(r.end(), sub.begin(), sub.end());
  }
  return r;
}

Module* Module::child(const std::string& name) const {
  for (auto& [n, c] : children_) if (n == name) return c.get();
  return nullptr;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.set_grad(Tensor());
}

void Module::to(Device device) {
  for (auto& [n, t] : state_dict()) {
    Tensor moved = ops::to(t, device);
    Tensor tt = t;
    if (!moved.same(t)) tt.set_data(moved);
    if (t.grad().defined()) tt.set_grad(ops::to(t.grad(), device));
  }
}

void Module::to(DType dtype) {
  MDP_CHECK(is_floating(dtype), "Module::to: {} is not a floating dtype", dtype_name(dtype));
  for (auto& [n, t] : state_dict()) {
    if (!is_floating(t.dtype())) continue;  // e.g. num_batches_tracked stays int64
    Tensor tt = t;
    tt.set_data(ops::to(t, dtype));
    tt.set_grad(Tensor());
  }
}

void Module::set_frozen(bool frozen) {
  for (auto& [n, t] : named_parameters()) {
    Tensor tt = t;
    tt.autograd_meta().requires_grad = !frozen;
  }
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) if (!trainable_only || t.requires_grad()) n += t.numel();
  return n;
}

}  // namespace mdp::nn
