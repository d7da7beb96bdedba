// node.cpp: grad mode, recording ops into the graph, detach, leaf accumulation.
#include "autograd/node.h"

#include <atomic>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {
namespace {
thread_local bool t_grad_enabled = true;

Edge edge_for(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  AutogradMeta& m = t.autograd_meta();
  if (m.grad_fn) return {m.grad_fn, m.output_nr};
  std::shared_ptr<Node> acc = m.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    m.grad_accumulator = acc;
  }
  return {acc, 0};
}
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous; }

bool needs_grad(const TensorList& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  for (const Tensor& t : inputs) node->next.push_back(edge_for(t));
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    const Tensor& o = outputs[i];
    node->output_shapes.push_back(o.shape());
    node->output_dtypes.push_back(o.dtype());
    if (!is_floating(o.dtype())) continue;  // indices and masks carry no gradient
    AutogradMeta& m = o.autograd_meta();
    m.requires_grad = true;
    m.grad_fn = node;
    m.output_nr = i;
  }
}

Tensor detach(const Tensor& t) {
  auto impl = std::make_shared<TensorImpl>(*t.impl_ptr());
  impl->autograd = nullptr;
  return Tensor(std::move(impl));
}

TensorList AccumulateGrad::apply(const TensorList& g) {
  if (!g[0].defined()) return {};
  Tensor grad = leaf_.grad();
  MDP_CHECK(g[0].shape() == leaf_.shape(), "backward: gradient of shape {} for a leaf of shape {}",
            shape_str(g[0].shape()), shape_str(leaf_.shape()));
  if (!grad.defined()) {
    // As torch: a gradient nobody else holds (this handle is its only reference, and its storage's, which
    // it fills exactly: not the last slice of a concatenation's gradient) becomes .grad itself; any other
    // is copied, so .grad never aliases another tensor nor keeps a larger buffer alive.
    const Tensor& in = g[0];
    const bool alone = in.impl_ptr().use_count() == 1 && in.storage().use_count() == 1 && in.offset() == 0 &&
                       in.is_contiguous() && in.storage()->nbytes == size_t(in.numel()) * in.element_size() &&
                       in.dtype() == leaf_.dtype() && !in.requires_grad();
    leaf_.set_grad(alone ? in : ops::clone(ops::to(in, leaf_.dtype())));
  } else {
    ops::axpby_(grad, 1.0, ops::contiguous(ops::to(g[0], grad.dtype())), 1.0);  // .grad is ours: add in place
  }
  auto hooks = leaf_.autograd_meta().post_accumulate_grad_hooks;  // a copy: a hook may remove itself
  for (auto& [id, hook] : hooks) hook(leaf_);
  return {};
}

HookHandle register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook) {
  MDP_CHECK(leaf.requires_grad() && !leaf.grad_fn(), "register_post_accumulate_grad_hook: the tensor is not a leaf "
            "that requires grad");
  static std::atomic<int64_t> next_id{0};
  const int64_t id = ++next_id;
  leaf.autograd_meta().post_accumulate_grad_hooks.emplace_back(id, std::move(hook));
  return HookHandle(leaf.impl_ptr()->autograd, id);
}

void HookHandle::remove() {
  if (auto m = meta_.lock()) {
    auto& hooks = m->post_accumulate_grad_hooks;
    for (auto it = hooks.begin(); it != hooks.end(); ++it)
      if (it->first == id_) {
        hooks.erase(it);
        break;
      }
  }
  meta_.reset();
}

HookHandle& HookHandle::operator=(HookHandle&& o) noexcept {
  if (this != &o) {
    remove();
    meta_ = std::move(o.meta_);
    id_ = o.id_;
    o.meta_.reset();
  }
  return *this;
}

}  // namespace mdp
