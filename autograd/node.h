// node.h: the autograd graph. Each differentiable op that sees an input requiring a gradient records a
// Node holding what its backward needs; edges point from a node to the nodes that produced its inputs
// (a leaf's edge goes to an AccumulateGrad node). Grad mode (no_grad) is a thread-local switch.
// Deliberately first-order only: backward closures use raw ops, so there is no double backward.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../tensor/tensor.h"

namespace mdp {

struct Edge {
  std::shared_ptr<Node> fn;  // null: that input needs no gradient
  uint32_t output_nr = 0;
};

using TensorList = std::vector<Tensor>;

struct Node {
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Gradients of the inputs (one per edge; undefined where not needed) from those of the outputs
  // (undefined where no gradient arrived).
  virtual TensorList apply(const TensorList& grad_outputs) = 0;
  virtual void release() {}  // drop saved tensors once backward has used them
  // False for the leaves' AccumulateGrad nodes: they save nothing, outlive a backward pass and are shared
  // by every graph built over the leaf, so they are never marked released.
  virtual bool released_after_backward() const { return true; }

  std::vector<Edge> next;
  std::vector<Shape> output_shapes;  // to make zero gradients for outputs no gradient reached
  std::vector<DType> output_dtypes;
  bool released = false;
};

using BackwardFn = std::function<TensorList(const TensorList& grad_outputs)>;

// A node whose backward is a closure; the closure owns the saved tensors.
struct FunctionNode final : Node {
  FunctionNode(const char* n, BackwardFn f) : name_(n), fn_(std::move(f)) {}
  const char* name() const override { return name_; }
  TensorList apply(const TensorList& g) override { return fn_(g); }
  void release() override { fn_ = nullptr; }

 private:
  const char* name_;
  BackwardFn fn_;
};

// Adds the incoming gradient into a leaf's .grad, then runs the leaf's post-accumulate-grad hooks. One
// per leaf and graph (AutogradMeta::grad_accumulator), so the engine sums the uses first.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {
    output_shapes = {leaf_.shape()};
    output_dtypes = {leaf_.dtype()};
  }
  const char* name() const override { return "AccumulateGrad"; }
  TensorList apply(const TensorList& g) override;
  bool released_after_backward() const override { return false; }

 private:
  Tensor leaf_;
};

// Grad mode: while disabled (NoGradGuard), ops record nothing.
bool grad_enabled();
struct NoGradGuard {
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
  bool previous;
};

// True when grad mode is on and any input requires a gradient.
bool needs_grad(const TensorList& inputs);
// Makes the outputs of an op children of a new FunctionNode over inputs (when needs_grad(inputs)).
// A backward closure that needs an output keeps detach(output): the output itself points at the node
// (grad_fn), so keeping it would make a cycle that leaks the graph when no backward runs.
void record(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn backward);

// As torch.Tensor.register_post_accumulate_grad_hook: hook(leaf) runs each time a backward pass has
// added into leaf.grad (once per backward, after every use of the leaf), e.g. to start the all-reduce of
// a gradient while the rest of the backward still runs (nn/data_parallel.h). The hook stays until the
// handle is removed or destroyed.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<AutogradMeta> meta, int64_t id) : meta_(std::move(meta)), id_(id) {}
  HookHandle(HookHandle&& o) noexcept : meta_(std::move(o.meta_)), id_(o.id_) { o.meta_.reset(); }
  HookHandle& operator=(HookHandle&& o) noexcept;
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  ~HookHandle() { remove(); }
  void remove();

 private:
  std::weak_ptr<AutogradMeta> meta_;
  int64_t id_ = 0;
};
HookHandle register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor& leaf)> hook);

// A new leaf sharing t's storage, with no autograd history.
Tensor detach(const Tensor& t);

}  // namespace mdp
