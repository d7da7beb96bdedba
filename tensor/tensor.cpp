// tensor.cpp: Tensor's metadata accessors, storage lifetime, element reads and printing.
#include "tensor/tensor.h"

#include <sstream>

#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.find_first_not_of("0123456789", 5) == std::string::npos)
    return cuda(std::stoi(s.substr(5)));
  throw Error(fmt::format("device: '{}' is not a device (expected cpu, cuda or cuda:N)", s));
}

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) { data = allocator_for(d).allocate(n); }
Storage::~Storage() { allocator_for(device).deallocate(data, nbytes); }

const TensorImpl& Tensor::impl() const {
  MDP_CHECK(impl_, "tensor: use of an undefined tensor");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  MDP_CHECK(d >= -n && d < n, "size: dim {} out of range for a tensor of shape {}", d, shape_str(shape()));
  return shape()[d < 0 ? d + n : d];
}

int64_t Tensor::stride(int64_t d) const {
  int64_t n = dim();
  MDP_CHECK(d >= -n && d < n, "stride: dim {} out of range for a tensor of shape {}", d, shape_str(shape()));
  return strides()[d < 0 ? d + n : d];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data) + impl().offset * int64_t(element_size());
}

void check_dtype_access(const Tensor& t, DType wanted) {
  MDP_CHECK(t.dtype() == wanted, "data<{}>(): tensor has dtype {}", dtype_name(wanted), dtype_name(t.dtype()));
}

double Tensor::item() const {
  MDP_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, not 1", shape_str(shape()), numel());
  return ops::to_vector(*this)[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  MDP_CHECK(int64_t(index.size()) == dim(), "at: {} indices for a tensor of shape {}", index.size(),
            shape_str(shape()));
  MDP_CHECK(device().is_cpu(), "at: tensor is on {}; copy it to the cpu first", device().str());
  int64_t off = 0;
  for (int64_t i = 0; i < dim(); ++i) {
    MDP_CHECK(index[i] >= 0 && index[i] < shape()[i], "at: index {} out of range for dim {} of shape {}",
              index[i], i, shape_str(shape()));
    off += index[i] * strides()[i];
  }
  const char* p = static_cast<const char*>(raw_data()) + off * int64_t(element_size());
  return dispatch_dtype(dtype(), [&](auto v) { return double(*reinterpret_cast<const decltype(v)*>(p)); });
}

void Tensor::set_data(const Tensor& src) {
  MDP_CHECK(impl_ && src.defined(), "set_data: undefined tensor");
  impl_->storage = src.impl().storage;
  impl_->shape = src.impl().shape;
  impl_->strides = src.impl().strides;
  impl_->offset = src.impl().offset;
  impl_->dtype = src.impl().dtype;
}

AutogradMeta& Tensor::autograd_meta() const {
  MDP_CHECK(impl_, "tensor: use of an undefined tensor");
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  return *impl_->autograd;
}

bool Tensor::requires_grad() const { return impl_ && impl_->autograd && impl_->autograd->requires_grad; }

Tensor& Tensor::set_requires_grad(bool r) {
  MDP_CHECK(!r || is_floating(dtype()), "requires_grad: only floating tensors can require gradients, not {}",
            dtype_name(dtype()));
  MDP_CHECK(is_leaf(), "requires_grad: can only be set on a leaf tensor (this one was computed by an op; "
            "use detach() to make a leaf)");
  autograd_meta().requires_grad = r;
  return *this;
}

Tensor Tensor::grad() const { return has_autograd_meta() ? impl_->autograd->grad : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  MDP_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient of shape {} for a tensor of shape {}",
            shape_str(g.shape()), shape_str(shape()));
  autograd_meta().grad = g;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return has_autograd_meta() ? impl_->autograd->grad_fn : none;
}

namespace {
void print_rec(std::ostringstream& os, const std::vector<double>& v, const Shape& shape, size_t d,
               int64_t base, int64_t stride_prod, int max_per_dim, bool is_int) {
  if (shape.empty()) {
    os << v[0];
    return;
  }
  int64_t n = shape[d];
  int64_t inner = stride_prod / std::max<int64_t>(n, 1);
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (n > max_per_dim && i == max_per_dim / 2) {
      os << "...";
      i = n - max_per_dim / 2 - 1;
      if (d + 1 < shape.size()) os << ",\n" << std::string(d + 1, ' ');
      else os << ", ";
      continue;
    }
    if (d + 1 == shape.size()) {
      if (is_int) os << int64_t(v[base + i]);
      else os << v[base + i];
    } else {
      print_rec(os, v, shape, d + 1, base + i * inner, inner, max_per_dim, is_int);
    }
    if (i + 1 < n) {
      if (d + 1 < shape.size()) os << ",\n" << std::string(d + 1, ' ');
      else os << ", ";
    }
  }
  os << "]";
}
}  // namespace

std::string Tensor::str(int max_per_dim) const {
  if (!defined()) return "Tensor(undefined)";
  std::vector<double> v = ops::to_vector(*this);
  std::ostringstream os;
  os.precision(5);
  os << "tensor(";
  if (numel() == 0) os << "[]";
  else print_rec(os, v, shape(), 0, 0, numel(), max_per_dim, !is_floating(dtype()));
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ")";
  return os.str();
}

}  // namespace mdp
