// module.h: Module, the unit networks are built from. A module owns named parameters (trainable
// tensors) and buffers (state such as batch-norm running statistics) and named child modules; names
// compose with dots exactly as in PyTorch (`layer1.0.conv1.weight`, `bn1.running_mean`), so state dicts
// move to and from PyTorch through safetensors without renaming. Not an autograd mechanism: forward
// just calls the differentiable ops of autograd/functions.h.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/functions.h"

namespace mdp::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  // The module's computation on one input (N, C, H, W) unless a subclass says otherwise.
  virtual Tensor forward(const Tensor& x) = 0;
  // forward(x), plus bookkeeping for summaries (see summary.h). Call this, not forward, from parents.
  Tensor operator()(const Tensor& x);
  virtual const char* type_name() const = 0;

  // Parameters and buffers of this module and all descendants, in PyTorch's state_dict order:
  // own parameters, own buffers, then each child in registration order.
  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  NamedTensors state_dict() const;  // parameters and buffers, PyTorch order
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");
  Module* child(const std::string& name) const;  // null when absent

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad
  // Moves parameters and buffers in place (handles stay valid) to a device / floating dtype.
  void to(Device device);
  void to(DType dtype);
  // Freezes (or unfreezes) every parameter: requires_grad = !frozen.
  void set_frozen(bool frozen);

  int64_t num_parameters(bool trainable_only = false) const;

 protected:
  // Registration returns the stored tensor; keep a member handle to it (the same TensorImpl).
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> m);

 private:
  void collect(const std::string& prefix, bool params, bool buffers, bool recurse, NamedTensors& out) const;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace mdp::nn
