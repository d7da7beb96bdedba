// tensor.h: Tensor, a strided view (shape, strides, offset, dtype) over reference-counted Storage that
// lives on one device, plus the autograd fields a tensor carries (requires_grad, grad, grad_fn).
// Deliberately holds no math: every computation is a free function, raw in tensor/ops.h (namespace
// mdp::ops, no graph) and differentiable in autograd/functions.h (namespace mdp, records the graph).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "device.h"
#include "dtype.h"

namespace mdp {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);           // "[2, 3, 4]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// A block of device memory, freed through its device's allocator when the last view goes away.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor;
struct Node;  // autograd/node.h
struct AutogradMeta;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;        // in elements
  int64_t offset = 0;   // in elements from storage->data
  DType dtype = DType::Float32;
  std::shared_ptr<AutogradMeta> autograd;  // null until requires_grad, grad or grad_fn is set
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (no storage); defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return int64_t(impl().shape.size()); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  size_t element_size() const { return dtype_size(dtype()); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }

  // Pointer to the first element of this view (host pointer for CPU, device pointer for CUDA).
  void* raw_data() const;
  template <class T> T* data() const;  // checks that T matches dtype() (bool for Bool, bf16 for BFloat16)

  // Single CPU element read, for tests and printing; converts to double.
  double item() const;                         // numel() must be 1
  double at(const std::vector<int64_t>& index) const;

  // Autograd fields. Setting requires_grad on a non-leaf or non-floating tensor is an error.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r);
  Tensor grad() const;                         // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const { return !grad_fn(); }
  AutogradMeta& autograd_meta() const;         // created on first use
  bool has_autograd_meta() const { return impl_ && impl_->autograd != nullptr; }

  // Replaces this tensor's data (storage, shape, strides, dtype) by src's, keeping its identity and autograd
  // fields, so every handle to it sees the change (as PyTorch's `param.data = src`). Used to move
  // parameters between devices or dtypes and to load checkpoints.
  void set_data(const Tensor& src);

  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str(int max_per_dim = 6) const;  // readable printout: values, shape, dtype, device

 private:
  const TensorImpl& impl() const;
  std::shared_ptr<TensorImpl> impl_;
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // the node that produced this tensor (null for leaves)
  uint32_t output_nr = 0;         // which output of grad_fn this tensor is
  // Leaves only: the node that adds into .grad, shared by every use of the leaf in a graph (so a
  // backward adds into .grad once, with the sum of all uses), and the hooks that run right after that
  // (autograd/node.h: register_post_accumulate_grad_hook).
  std::weak_ptr<Node> grad_accumulator;
  std::vector<std::pair<int64_t, std::function<void(const Tensor& leaf)>>> post_accumulate_grad_hooks;
};

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::BFloat16; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

void check_dtype_access(const Tensor& t, DType wanted);  // throws naming both dtypes

template <class T> T* Tensor::data() const {
  check_dtype_access(*this, dtype_of<T>::value);
  return static_cast<T*>(raw_data());
}

}  // namespace mdp
