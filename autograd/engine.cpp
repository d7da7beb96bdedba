// engine.cpp: reverse-topological backward over the recorded graph.
#include "autograd/engine.h"

#include <unordered_map>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {

void backward(const Tensor& root, const Tensor& grad) {
  MDP_CHECK(root.defined(), "backward: called on an undefined tensor");
  MDP_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no grad_fn (was it computed "
            "under no_grad, or from inputs that do not require grad?)");
  Tensor g = grad;
  if (!g.defined()) {
    MDP_CHECK(root.numel() == 1, "backward: output of shape {} is not a scalar; pass a gradient of that shape",
              shape_str(root.shape()));
    g = ops::ones(root.shape(), root.dtype(), root.device());
  }
  MDP_CHECK(g.shape() == root.shape(), "backward: gradient of shape {} for an output of shape {}", shape_str(g.shape()),
            shape_str(root.shape()));

  std::shared_ptr<Node> start = root.grad_fn();
  if (!start) {  // a leaf: its gradient is g itself
    AccumulateGrad(root).apply({g});
    return;
  }

  // Count, for every node, how many edges lead into it (iterative DFS).
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{start.get()};
  std::unordered_map<Node*, bool> seen{{start.get(), true}};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    MDP_CHECK(!n->released, "backward: trying to backward through the graph a second time ({} was freed after the "
              "first backward); recompute the forward pass", n->name());
    for (const Edge& e : n->next) {
      if (!e.fn) continue;
      deps[e.fn.get()]++;
      if (!seen[e.fn.get()]) {
        seen[e.fn.get()] = true;
        stack.push_back(e.fn.get());
      }
    }
  }

  // Process nodes whose every consumer has delivered its gradient.
  std::unordered_map<Node*, TensorList> buffers;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep{{start.get(), start}};
  buffers[start.get()] = TensorList(start->output_shapes.size());
  buffers[start.get()][root.autograd_meta().output_nr] = g;
  std::vector<Node*> ready{start.get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    TensorList grads_in = std::move(buffers[n]);
    buffers.erase(n);
    grads_in.resize(n->output_shapes.size());
    bool any = false;
    for (const Tensor& t : grads_in) any |= t.defined();
    TensorList grads_out;
    if (any) {
      for (size_t i = 0; i < grads_in.size(); ++i)  // outputs nobody used get zero gradients
        if (!grads_in[i].defined() && is_floating(n->output_dtypes[i]))
          grads_in[i] = ops::zeros(n->output_shapes[i], n->output_dtypes[i], g.device());
      grads_out = n->apply(grads_in);
    }
    n->release();
    n->released = n->released_after_backward();
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.fn) continue;
      Node* m = e.fn.get();
      keep.emplace(m, e.fn);
      if (i < grads_out.size() && grads_out[i].defined()) {
        TensorList& b = buffers[m];
        if (b.size() < std::max<size_t>(m->output_shapes.size(), 1)) b.resize(std::max<size_t>(m->output_shapes.size(), 1));
        Tensor& slot = b[e.output_nr];
        slot = slot.defined() ? ops::add(slot, grads_out[i]) : grads_out[i];
      }
      if (--deps[m] == 0) ready.push_back(m);
    }
  }
}

}  // namespace mdp
