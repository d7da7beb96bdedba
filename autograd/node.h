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

// Adds the incoming gradient into a leaf's .grad.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {
    output_shapes = {leaf_.shape()};
    output_dtypes = {leaf_.dtype()};
  }
  const char* name() const override { return "AccumulateGrad"; }
  TensorList apply(const TensorList& g) override;

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
void record(const char* name, const TensorList& inputs, const TensorList& outputs, BackwardFn backward);

// A new leaf sharing t's storage, with no autograd history.
Tensor detach(const Tensor& t);

}  // namespace mdp
