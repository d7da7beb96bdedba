// ops.cpp: argument checks, output allocation, views and the ops composed of other ops. Each op names
// itself and the offending shapes in its errors, then hands the work to backend_for(input).
#include "tensor/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

#include "tensor/backend.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tensor/strided.h"

namespace mdp::ops {
namespace {

int64_t wrap_dim(int64_t d, int64_t n, const char* op) {
  MDP_CHECK(d >= -n && d < std::max<int64_t>(n, 1), "{}: dim {} out of range for a {}-d tensor", op, d, n);
  return d < 0 ? d + n : d;
}

Tensor make(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor view_of(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  return make(t.storage(), std::move(shape), std::move(strides), offset, t.dtype());
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  MDP_CHECK(a.device() == b.device(), "{}: tensors on different devices ({} and {})", op, a.device().str(),
            b.device().str());
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  MDP_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch ({} {} and {} {})", op, dtype_name(a.dtype()),
            shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()));
}

void check_floating(const char* op, const Tensor& t) {
  MDP_CHECK(is_floating(t.dtype()), "{}: needs a floating tensor, got {} {}", op, dtype_name(t.dtype()),
            shape_str(t.shape()));
}

void check_defined(const char* op, const Tensor& t, const char* what) {
  MDP_CHECK(t.defined(), "{}: {} is an undefined tensor", op, what);
}

Tensor random_fill(const Shape& shape, DType dtype, Generator* gen, const std::function<double(Generator&)>& f) {
  Generator& g = gen ? *gen : default_generator();
  std::vector<double> v(size_t(shape_numel(shape)));
  for (auto& x : v) x = f(g);
  return from_vector(v, shape, dtype);
}

}  // namespace

// ---------------------------------------------------------------- creation
Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) MDP_CHECK(d >= 0, "empty: negative dimension in shape {}", shape_str(shape));
  size_t nbytes = size_t(shape_numel(shape)) * dtype_size(dtype);
  return make(std::make_shared<Storage>(nbytes, device), shape, contiguous_strides(shape), 0, dtype);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1, dtype, device); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  MDP_CHECK(step != 0, "arange: step must not be 0");
  int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = start + double(i) * step;
  return from_vector(v, {n}, dtype, device);
}

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  return random_fill(shape, dtype, gen, [](Generator& g) { return g.uniform(); });
}
Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  return random_fill(shape, dtype, gen, [](Generator& g) { return g.normal(); });
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen) {
  MDP_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  return random_fill(shape, dtype, gen, [&](Generator& g) { return double(g.randint(low, high)); });
}
Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator* gen) {
  MDP_CHECK(p >= 0 && p <= 1, "bernoulli: probability {} is not in [0, 1]", p);
  return random_fill(shape, dtype, gen, [&](Generator& g) { return g.bernoulli(p) ? 1.0 : 0.0; });
}

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  MDP_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: {} values for shape {}", values.size(),
            shape_str(shape));
  Tensor t = empty(shape, dtype, Device::cpu());
  dispatch_dtype(dtype, [&](auto z) {
    using T = decltype(z);
    T* p = static_cast<T*>(t.raw_data());
    for (size_t i = 0; i < values.size(); ++i) p[i] = T(values[i]);
  });
  return device.is_cpu() ? t : to(t, device);
}

Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, Device::cpu());
  const size_t bytes = size_t(t.numel()) * dtype_size(dtype);
  if (bytes > 0) std::memcpy(t.raw_data(), data, bytes);  // an empty tensor may come with no data at all (nullptr)
  return device.is_cpu() ? t : to(t, device);
}

std::vector<double> to_vector(const Tensor& t) {
  return read_strided(t.device().is_cpu() ? t : to(t, Device::cpu()));
}

Tensor scalar_tensor(double v, DType dtype, Device device) { return full({}, v, dtype, device); }

// ---------------------------------------------------------------- copies
void copy_(const Tensor& dst, const Tensor& src) {
  MDP_CHECK(dst.shape() == src.shape(), "copy_: destination {} and source {} differ in shape",
            shape_str(dst.shape()), shape_str(src.shape()));
  if (dst.numel() == 0) return;
  if (dst.device() == src.device()) return backend_for(dst).copy(dst, src);
  // Between devices: the CUDA backend moves contiguous bytes of one dtype; convert on the source side.
  const Tensor& gpu = dst.device().is_cuda() ? dst : src;
  Tensor s = contiguous(to(src, dst.dtype()));
  if (dst.is_contiguous()) return backend_for(gpu).copy(dst, s);
  Tensor tmp = empty(dst.shape(), dst.dtype(), dst.device());
  backend_for(gpu).copy(tmp, s);
  backend_for(dst).copy(dst, tmp);
}

void fill_(const Tensor& t, double value) {
  if (t.numel()) backend_for(t).fill(t, value);
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  copy_(out, t);
  return out;
}

Tensor to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype, t.device());
  copy_(out, t);
  return out;
}

Tensor to(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor out = empty(t.shape(), t.dtype(), device);
  copy_(out, t);
  return out;
}

// ---------------------------------------------------------------- views
namespace {
Shape infer_shape(const Shape& shape, int64_t numel, const char* op, const Shape& from) {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MDP_CHECK(infer < 0, "{}: more than one -1 in shape {}", op, shape_str(shape));
      infer = int64_t(i);
    } else {
      MDP_CHECK(s[i] >= 0, "{}: invalid size {} in shape {}", op, s[i], shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MDP_CHECK(known != 0 && numel % known == 0, "{}: shape {} is invalid for input of shape {}", op,
              shape_str(shape), shape_str(from));
    s[size_t(infer)] = numel / known;
  }
  MDP_CHECK(shape_numel(s) == numel, "{}: shape {} is invalid for input of shape {} ({} elements)", op,
            shape_str(shape), shape_str(from), numel);
  return s;
}

// Strides for viewing t as `shape` without a copy, or empty if impossible (the algorithm PyTorch's
// computeStride uses: match chunks of contiguous dims).
std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  if (t.numel() == 0 || t.dim() == 0) return contiguous_strides(shape);
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  Shape ns(shape.size());
  int64_t view_d = int64_t(shape.size()) - 1;
  int64_t chunk_base = ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        ns[view_d] = view_numel * chunk_base;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return ns;
}
}  // namespace

Tensor view(const Tensor& t, const Shape& shape0) {
  Shape shape = infer_shape(shape0, t.numel(), "view", t.shape());
  auto st = view_strides(t, shape);
  MDP_CHECK(st, "view: a tensor of shape {} with strides {} cannot be viewed as {} without a copy "
            "(use reshape)", shape_str(t.shape()), shape_str(t.strides()), shape_str(shape));
  return view_of(t, shape, *st, t.offset());
}

Tensor reshape(const Tensor& t, const Shape& shape0) {
  Shape shape = infer_shape(shape0, t.numel(), "reshape", t.shape());
  if (auto st = view_strides(t, shape)) return view_of(t, shape, *st, t.offset());
  return view(clone(t), shape);
}

Tensor flatten(const Tensor& t, int64_t start, int64_t end) {
  if (t.dim() == 0) return reshape(t, {1});
  start = wrap_dim(start, t.dim(), "flatten");
  end = wrap_dim(end, t.dim(), "flatten");
  Shape s(t.shape().begin(), t.shape().begin() + start);
  int64_t m = 1;
  for (int64_t i = start; i <= end; ++i) m *= t.shape()[i];
  s.push_back(m);
  s.insert(s.end(), t.shape().begin() + end + 1, t.shape().end());
  return reshape(t, s);
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& dims) {
  MDP_CHECK(int64_t(dims.size()) == t.dim(), "permute: {} dims given for a tensor of shape {}", dims.size(),
            shape_str(t.shape()));
  Shape s(dims.size()), st(dims.size());
  std::vector<bool> seen(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], t.dim(), "permute");
    MDP_CHECK(!seen[size_t(d)], "permute: dim {} repeated in {}", d, shape_str(dims));
    seen[size_t(d)] = true;
    s[i] = t.shape()[d];
    st[i] = t.strides()[d];
  }
  return view_of(t, s, st, t.offset());
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  std::vector<int64_t> p(size_t(t.dim()));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[size_t(wrap_dim(d0, t.dim(), "transpose"))], p[size_t(wrap_dim(d1, t.dim(), "transpose"))]);
  return permute(t, p);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  dim = wrap_dim(dim, t.dim(), "slice");
  int64_t n = t.shape()[dim];
  MDP_CHECK(step > 0, "slice: step must be positive, got {}", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = t.shape(), st = t.strides();
  s[dim] = (end - start + step - 1) / step;
  st[dim] *= step;
  return view_of(t, s, st, t.offset() + start * t.strides()[dim]);
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  dim = wrap_dim(dim, t.dim(), "narrow");
  MDP_CHECK(start >= 0 && length >= 0 && start + length <= t.shape()[dim],
            "narrow: range [{}, {}) out of bounds for dim {} of shape {}", start, start + length, dim,
            shape_str(t.shape()));
  Shape s = t.shape();
  s[dim] = length;
  return view_of(t, s, t.strides(), t.offset() + start * t.strides()[dim]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  dim = wrap_dim(dim, t.dim(), "select");
  int64_t n = t.shape()[dim];
  MDP_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of shape {}", index, dim,
            shape_str(t.shape()));
  if (index < 0) index += n;
  Shape s = t.shape(), st = t.strides();
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  return view_of(t, s, st, t.offset() + index * t.strides()[dim]);
}

Tensor expand(const Tensor& t, const Shape& shape) {
  MDP_CHECK(int64_t(shape.size()) >= t.dim(), "expand: cannot expand shape {} to {}", shape_str(t.shape()),
            shape_str(shape));
  size_t lead = shape.size() - size_t(t.dim());
  Shape s(shape.size()), st(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      MDP_CHECK(shape[i] >= 0, "expand: invalid size {} in {}", shape[i], shape_str(shape));
      s[i] = shape[i];
      st[i] = 0;
      continue;
    }
    int64_t have = t.shape()[i - lead], want = shape[i] == -1 ? have : shape[i];
    MDP_CHECK(have == want || have == 1, "expand: cannot expand shape {} to {} (dim {}: {} vs {})",
              shape_str(t.shape()), shape_str(shape), i, have, want);
    s[i] = want;
    st[i] = have == want ? t.strides()[i - lead] : 0;
  }
  return view_of(t, s, st, t.offset());
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.dim(), "squeeze");
  if (t.shape()[dim] != 1) return t;
  Shape s = t.shape(), st = t.strides();
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  return view_of(t, s, st, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape s = t.shape(), st = t.strides();
  int64_t stride = dim < t.dim() ? t.strides()[dim] * t.shape()[dim] : 1;
  s.insert(s.begin() + dim, 1);
  st.insert(st.begin() + dim, stride);
  return view_of(t, s, st, t.offset());
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    MDP_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together", op,
              shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---------------------------------------------------------------- elementwise
namespace {
const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "pow", "relu_grad"};
  return names[int(op)];
}
}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  check_defined(name, a, "first input");
  check_defined(name, b, "second input");
  check_same_device(name, a, b);
  check_same_dtype(name, a, b);
  Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(s, a.dtype(), a.device());
  if (out.numel()) backend_for(out).binary(op, out, expand(a, s), expand(b, s));
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, double b) {
  check_defined(binary_name(op), a, "input");
  Tensor out = empty_like(a);
  if (out.numel()) backend_for(out).binary_scalar(op, out, a, b);
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x) {
  check_defined("unary", x, "input");
  Tensor out = empty_like(x);
  if (out.numel()) backend_for(out).unary(op, out, x);
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  check_same_device("compare", a, b);
  check_same_dtype("compare", a, b);
  Shape s = broadcast_shapes(a.shape(), b.shape(), "compare");
  Tensor out = empty(s, DType::Bool, a.device());
  if (out.numel()) backend_for(out).compare(op, out, expand(a, s), expand(b, s));
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, double b) {
  return compare(op, a, scalar_tensor(b, a.dtype(), a.device()));
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  MDP_CHECK(cond.dtype() == DType::Bool, "where: condition must be bool, got {}", dtype_name(cond.dtype()));
  check_same_device("where", cond, a);
  check_same_device("where", a, b);
  check_same_dtype("where", a, b);
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(s, a.dtype(), a.device());
  if (out.numel()) backend_for(out).where(out, expand(cond, s), expand(a, s), expand(b, s));
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
Tensor mul(const Tensor& a, double s) { return binary(BinaryOp::Mul, a, s); }
Tensor add(const Tensor& a, double s) { return binary(BinaryOp::Add, a, s); }
Tensor pow(const Tensor& a, double e) { return binary(BinaryOp::Pow, a, e); }

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  MDP_CHECK(!lo || !hi || *lo <= *hi, "clamp: min {} is greater than max {}", *lo, *hi);
  Tensor y = x;
  if (lo) y = binary(BinaryOp::Max, y, *lo);
  if (hi) y = binary(BinaryOp::Min, y, *hi);
  return lo || hi ? y : clone(x);
}

void axpby_(const Tensor& y, double a, const Tensor& x, double b) {
  check_same_device("axpby_", y, x);
  check_same_dtype("axpby_", y, x);
  MDP_CHECK(y.shape() == x.shape(), "axpby_: shapes {} and {} differ", shape_str(y.shape()), shape_str(x.shape()));
  if (y.numel()) backend_for(y).axpby(y, a, x, b);
}

namespace {
void check_state(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  MDP_CHECK(t.defined() && t.shape() == param.shape() && t.device() == param.device() && t.is_contiguous(),
            "{}: {} must be a contiguous tensor of the parameter's shape {} on {}", op, what, shape_str(param.shape()),
            param.device().str());
}
}  // namespace

void sgd_update_(const Tensor& param, const Tensor& grad, const Tensor& buf, const SgdArgs& a) {
  check_floating("sgd_update_", param);
  check_state("sgd_update_", param, param, "param");
  check_state("sgd_update_", param, grad, "grad");
  check_same_dtype("sgd_update_", param, grad);
  if (a.momentum != 0) check_state("sgd_update_", param, buf, "momentum buffer");
  if (param.numel()) backend_for(param).sgd_update(param, grad, buf, a);
}

void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWArgs& a) {
  check_floating("adamw_update_", param);
  check_state("adamw_update_", param, param, "param");
  check_state("adamw_update_", param, grad, "grad");
  check_state("adamw_update_", param, m, "exp_avg");
  check_state("adamw_update_", param, v, "exp_avg_sq");
  check_same_dtype("adamw_update_", param, grad);
  MDP_CHECK(a.step >= 1, "adamw_update_: step must count from 1, got {}", a.step);
  if (param.numel()) backend_for(param).adamw_update(param, grad, m, v, a);
}

// ---------------------------------------------------------------- reductions
namespace {
std::vector<bool> reduce_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> m(size_t(x.dim()), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), op);
    MDP_CHECK(!m[size_t(w)] || dims.empty(), "{}: dim {} repeated", op, w);
    m[size_t(w)] = true;
  }
  return m;
}
Shape reduced_shape(const Shape& s, const std::vector<bool>& m, bool keepdim) {
  Shape r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!m[i]) r.push_back(s[i]);
    else if (keepdim) r.push_back(1);
  }
  return r;
}
}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  static const char* names[] = {"sum", "mean", "max", "min"};
  const char* name = names[int(op)];
  check_defined(name, x, "input");
  if (op == ReduceOp::Mean) check_floating(name, x);
  auto m = reduce_mask(x, dims, name);
  Shape keep = reduced_shape(x.shape(), m, true);
  if (op == ReduceOp::Max || op == ReduceOp::Min)
    for (size_t i = 0; i < m.size(); ++i)
      MDP_CHECK(!m[i] || x.shape()[i] > 0, "{}: cannot reduce over dim {} of size 0 (shape {})", name, i,
                shape_str(x.shape()));
  Tensor out = empty(keep, x.dtype(), x.device());
  if (x.numel() == 0) fill_(out, op == ReduceOp::Mean ? NAN : 0.0);
  else if (out.numel()) backend_for(x).reduce(op, out, x);
  return keepdim ? out : view(out, reduced_shape(x.shape(), m, false));
}

Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim) { return reduce(ReduceOp::Sum, x, dims, keepdim); }
Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim) { return reduce(ReduceOp::Mean, x, dims, keepdim); }

namespace {
std::pair<Tensor, Tensor> arg_reduce(bool is_max, const Tensor& x, int64_t dim, bool keepdim, const char* op) {
  check_defined(op, x, "input");
  dim = wrap_dim(dim, x.dim(), op);
  if (x.dim() == 0) return {clone(x), zeros({}, DType::Int64, x.device())};
  MDP_CHECK(x.shape()[dim] > 0, "{}: cannot reduce over dim {} of size 0 (shape {})", op, dim, shape_str(x.shape()));
  Shape keep = x.shape();
  keep[dim] = 1;
  Tensor v = empty(keep, x.dtype(), x.device()), i = empty(keep, DType::Int64, x.device());
  if (v.numel()) backend_for(x).arg_reduce(is_max, v, i, x, dim);
  if (keepdim) return {v, i};
  return {squeeze(v, dim), squeeze(i, dim)};
}
}  // namespace

std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim) { return arg_reduce(true, x, dim, keepdim, "max"); }
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim) { return arg_reduce(false, x, dim, keepdim, "min"); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return max_dim(x, dim, keepdim).second; }

Tensor var(const Tensor& x, std::vector<int64_t> dims, bool unbiased, bool keepdim) {
  check_floating("var", x);
  auto m = reduce_mask(x, dims, "var");
  int64_t n = 1;
  for (size_t i = 0; i < m.size(); ++i) if (m[i]) n *= x.shape()[i];
  Tensor c = sub(x, mean(x, dims, true));
  Tensor s = sum(mul(c, c), dims, keepdim);
  return mul(s, 1.0 / double(std::max<int64_t>(unbiased ? n - 1 : n, 0)));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  MDP_CHECK(x.dim() >= int64_t(shape.size()), "sum_to: cannot sum shape {} to {}", shape_str(x.shape()), shape_str(shape));
  size_t lead = size_t(x.dim()) - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < size_t(x.dim()); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) dims.push_back(int64_t(i));
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return view(contiguous(s), shape);
}

// ---------------------------------------------------------------- mixed precision
DType mixed_result_dtype(const char* op, DType in, std::optional<DType> out) {
  if (!out || *out == in) return in;
  MDP_CHECK(in == DType::BFloat16 && *out == DType::Float32,
            "{}: a {} result from {} inputs is not supported (only bfloat16 inputs may give float32)", op,
            dtype_name(*out), dtype_name(in));
  return *out;
}

// ---------------------------------------------------------------- matmul
Tensor matmul(const Tensor& a0, const Tensor& b0, bool ta, bool tb, std::optional<DType> out_dtype) {
  check_defined("matmul", a0, "a");
  check_defined("matmul", b0, "b");
  check_same_device("matmul", a0, b0);
  check_same_dtype("matmul", a0, b0);
  check_floating("matmul", a0);
  DType od = mixed_result_dtype("matmul", a0.dtype(), out_dtype);
  MDP_CHECK((a0.dim() == 2 || a0.dim() == 3) && a0.dim() == b0.dim(),
            "matmul: expects two 2-D or two 3-D tensors, got {} and {}", shape_str(a0.shape()), shape_str(b0.shape()));
  Tensor a = ta ? transpose(a0, -1, -2) : a0, b = tb ? transpose(b0, -1, -2) : b0;
  bool batched = a.dim() == 3;
  if (!batched) {
    a = unsqueeze(a, 0);
    b = unsqueeze(b, 0);
  }
  int64_t B = std::max(a.size(0), b.size(0)), M = a.size(1), K = a.size(2), N = b.size(2);
  MDP_CHECK(a.size(2) == b.size(1) && (a.size(0) == b.size(0) || a.size(0) == 1 || b.size(0) == 1),
            "matmul: shapes {} and {} do not fit (a is (B, M, K), b is (B, K, N))", shape_str(a.shape()), shape_str(b.shape()));
  Tensor out = empty({B, M, N}, od, a.device());
  a = expand(a, {B, M, K});
  b = expand(b, {B, K, N});
  if (out.numel()) {
    if (K == 0) fill_(out, 0);
    else backend_for(out).matmul(out, a, b);
  }
  return batched ? out : view(out, {M, N});
}

// ---------------------------------------------------------------- convolution
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dArgs& a) {
  MDP_CHECK(x.size() == 4, "conv2d: input {} must be 4-D (N, C, H, W)", shape_str(x));
  MDP_CHECK(w.size() == 4, "conv2d: weight {} must be 4-D (O, C/groups, kH, kW)", shape_str(w));
  MDP_CHECK(a.stride.size() == 2 && a.padding.size() == 2 && a.dilation.size() == 2,
            "conv2d: stride, padding and dilation need two values each");
  for (int i = 0; i < 2; ++i)
    MDP_CHECK(a.stride[i] > 0 && a.dilation[i] > 0 && a.padding[i] >= 0,
              "conv2d: invalid stride {} / padding {} / dilation {}", shape_str(a.stride), shape_str(a.padding),
              shape_str(a.dilation));
  MDP_CHECK(a.groups > 0 && w[0] % a.groups == 0 && x[1] == w[1] * a.groups,
            "conv2d: input {} and weight {} do not fit with groups={} (input channels must equal "
            "weight.size(1) * groups, output channels divisible by groups)", shape_str(x), shape_str(w), a.groups);
  Shape y{x[0], w[0], 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t ext = a.dilation[i] * (w[2 + i] - 1) + 1;
    int64_t in = x[2 + i] + 2 * a.padding[i];
    MDP_CHECK(in >= ext, "conv2d: input {} padded to {} is smaller than the dilated kernel {} (weight {})",
              shape_str(x), in, ext, shape_str(w));
    y[2 + i] = (in - ext) / a.stride[i] + 1;
  }
  return y;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& a, std::optional<DType> out_dtype) {
  check_defined("conv2d", x, "input");
  check_defined("conv2d", w, "weight");
  check_same_device("conv2d", x, w);
  check_same_dtype("conv2d", x, w);
  check_floating("conv2d", x);
  DType od = mixed_result_dtype("conv2d", x.dtype(), out_dtype);
  Shape ys = conv2d_output_shape(x.shape(), w.shape(), a);
  if (b.defined()) {
    check_same_device("conv2d", x, b);
    MDP_CHECK(b.dtype() == od, "conv2d: bias is {}, the output {} (the bias has the output's dtype)",
              dtype_name(b.dtype()), dtype_name(od));
    MDP_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "conv2d: bias {} does not match weight {} (needs ({}))",
              shape_str(b.shape()), shape_str(w.shape()), w.size(0));
  }
  Tensor y = empty(ys, od, x.device());
  if (y.numel()) backend_for(x).conv2d(y, contiguous(x), contiguous(w), b.defined() ? contiguous(b) : b, a);
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Conv2dArgs& a,
                            bool need_dx, bool need_dw, bool need_db, std::optional<DType> grad_dtype) {
  check_same_device("conv2d_backward", x, w);
  check_same_device("conv2d_backward", x, dy);
  check_same_dtype("conv2d_backward", x, w);
  check_same_dtype("conv2d_backward", x, dy);
  DType gd = mixed_result_dtype("conv2d_backward", x.dtype(), grad_dtype);
  Shape ys = conv2d_output_shape(x.shape(), w.shape(), a);
  MDP_CHECK(dy.shape() == ys, "conv2d_backward: gradient {} does not match output {}", shape_str(dy.shape()), shape_str(ys));
  Conv2dGrads g;
  if (need_dx) g.dx = empty(x.shape(), gd, x.device());
  if (need_dw) g.dw = empty(w.shape(), gd, w.device());
  if (need_db) g.db = empty({w.size(0)}, gd, w.device());
  if (dy.numel() == 0) {
    for (Tensor* t : {&g.dx, &g.dw, &g.db}) if (t->defined()) fill_(*t, 0);
    return g;
  }
  backend_for(x).conv2d_backward(g, contiguous(dy), contiguous(x), contiguous(w), a);
  return g;
}

// ---------------------------------------------------------------- batch norm
namespace {
// Checks batch_norm's arguments and returns x as (N, C, H, W), contiguous.
Tensor checked_bn_input(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& running_mean, const Tensor& running_var, bool training) {
  check_defined(op, x, "input");
  check_floating(op, x);
  MDP_CHECK(x.dim() == 4 || x.dim() == 2, "{}: input {} must be (N, C, H, W) or (N, C)", op, shape_str(x.shape()));
  int64_t C = x.size(1);
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    if (!t->defined()) continue;
    check_same_device(op, x, *t);
    MDP_CHECK(t->dim() == 1 && t->size(0) == C, "{}: parameter {} does not match {} channels of input {}", op,
              shape_str(t->shape()), C, shape_str(x.shape()));
    MDP_CHECK(t->dtype() == DType::Float32 || t->dtype() == x.dtype(),
              "{}: parameter dtype {} does not fit input dtype {}", op, dtype_name(t->dtype()), dtype_name(x.dtype()));
  }
  MDP_CHECK(running_mean.defined() == running_var.defined(),
            "{}: running_mean and running_var must both be given or both not", op);
  if (!training) MDP_CHECK(running_mean.defined(), "{}: eval mode needs running statistics", op);
  if (running_mean.defined())
    MDP_CHECK(running_mean.is_contiguous() && running_var.is_contiguous(), "{}: running statistics must be contiguous",
              op);
  int64_t per_channel = x.numel() / std::max<int64_t>(C, 1);
  MDP_CHECK(!training || per_channel > 1, "{}: expected more than 1 value per channel when training, got input {}",
            op, shape_str(x.shape()));
  return x.dim() == 2 ? view(contiguous(x), {x.size(0), C, 1, 1}) : contiguous(x);
}

// batch_norm, or with relu batch_norm_relu (residual optional): checks, x as (N, C, H, W), the backend
// call, and y back in x's shape.
BatchNormResult bn_forward(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                           const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                           double eps, bool relu, const Tensor& residual) {
  Tensor x4 = checked_bn_input(op, x, weight, bias, running_mean, running_var, training), r4;
  if (residual.defined()) {
    check_same_device(op, x, residual);
    MDP_CHECK(residual.shape() == x.shape() && residual.dtype() == x.dtype(), "{}: residual {} {} does not match input {} {}",
              op, shape_str(residual.shape()), dtype_name(residual.dtype()), shape_str(x.shape()), dtype_name(x.dtype()));
    r4 = view(contiguous(residual), x4.shape());
  }
  DType pd = x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  int64_t C = x4.size(1);
  BatchNormResult r{empty(x4.shape(), x.dtype(), x.device()), empty({C}, pd, x.device()), empty({C}, pd, x.device())};
  if (x.numel()) {
    Backend& be = backend_for(x);
    if (relu) be.batch_norm_relu(r, x4, weight, bias, running_mean, running_var, training, momentum, eps, r4);
    else be.batch_norm(r, x4, weight, bias, running_mean, running_var, training, momentum, eps);
  }
  if (x.dim() == 2) r.y = view(r.y, x.shape());
  return r;
}

// batch_norm_backward, or with y (the fused forward's output) batch_norm_relu_backward: the gradients
// allocated as (N, C, H, W), the backend call, and dx (and dresidual) back in x's shape.
BatchNormGrads bn_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& weight,
                           const Tensor& save_mean, const Tensor& save_invstd, bool training, bool need_dresidual) {
  int64_t C = x.size(1);
  Shape s4 = x.dim() == 2 ? Shape{x.size(0), C, 1, 1} : x.shape();
  auto as4 = [&](const Tensor& t) { return view(contiguous(t), s4); };
  BatchNormGrads g{empty(s4, x.dtype(), x.device()), Tensor(), Tensor(), Tensor()};
  if (weight.defined()) {
    g.dweight = empty({C}, weight.dtype(), x.device());
    g.dbias = empty({C}, weight.dtype(), x.device());
  }
  if (need_dresidual) g.dresidual = empty(s4, x.dtype(), x.device());
  if (x.numel()) {
    Backend& be = backend_for(x);
    if (y.defined()) be.batch_norm_relu_backward(g, as4(dy), as4(y), as4(x), weight, save_mean, save_invstd, training);
    else be.batch_norm_backward(g, as4(dy), as4(x), weight, save_mean, save_invstd, training);
  }
  g.dx = view(g.dx, x.shape());
  if (need_dresidual) g.dresidual = view(g.dresidual, x.shape());
  return g;
}
}  // namespace

BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training, double momentum, double eps) {
  return bn_forward("batch_norm", x, weight, bias, running_mean, running_var, training, momentum, eps, false, Tensor());
}

BatchNormResult batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                                const Tensor& running_var, bool training, double momentum, double eps,
                                const Tensor& residual) {
  return bn_forward("batch_norm_relu", x, weight, bias, running_mean, running_var, training, momentum, eps, true,
                    residual);
}

BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training) {
  MDP_CHECK(dy.shape() == x.shape(), "batch_norm_backward: gradient {} does not match input {}", shape_str(dy.shape()),
            shape_str(x.shape()));
  return bn_backward(dy, Tensor(), x, weight, save_mean, save_invstd, training, false);
}

BatchNormGrads batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& weight,
                                        const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                        bool need_dresidual) {
  MDP_CHECK(dy.shape() == x.shape() && y.shape() == x.shape(),
            "batch_norm_relu_backward: gradient {} and output {} must match input {}", shape_str(dy.shape()),
            shape_str(y.shape()), shape_str(x.shape()));
  return bn_backward(dy, y, x, weight, save_mean, save_invstd, training, need_dresidual);
}

// ---------------------------------------------------------------- pooling
Shape pool2d_output_shape(const Shape& x, const Pool2dArgs& a, const char* op) {
  MDP_CHECK(x.size() == 4, "{}: input {} must be 4-D (N, C, H, W)", op, shape_str(x));
  MDP_CHECK(a.kernel.size() == 2 && a.stride.size() == 2 && a.padding.size() == 2,
            "{}: kernel, stride and padding need two values each", op);
  Shape y{x[0], x[1], 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t k = a.kernel[i], s = a.stride[i], p = a.padding[i], in = x[2 + i];
    MDP_CHECK(k > 0 && s > 0 && p >= 0 && p <= k / 2, "{}: invalid kernel {} / stride {} / padding {} (padding "
              "must be at most half the kernel)", op, shape_str(a.kernel), shape_str(a.stride), shape_str(a.padding));
    int64_t num = in + 2 * p - k;
    MDP_CHECK(num >= 0, "{}: input {} padded is smaller than kernel {}", op, shape_str(x), shape_str(a.kernel));
    int64_t o = (a.ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (a.ceil_mode && (o - 1) * s >= in + p) --o;  // the last window must start inside the input
    y[2 + i] = o;
  }
  return y;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dArgs& a) {
  check_floating("max_pool2d", x);
  Shape ys = pool2d_output_shape(x.shape(), a, "max_pool2d");
  Tensor y = empty(ys, x.dtype(), x.device()), idx = empty(ys, DType::Int64, x.device());
  if (y.numel()) backend_for(x).max_pool2d(y, idx, contiguous(x), a);
  return {y, idx};
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape) {
  MDP_CHECK(dy.shape() == indices.shape(), "max_pool2d_backward: gradient {} and indices {} differ",
            shape_str(dy.shape()), shape_str(indices.shape()));
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  if (dy.numel()) backend_for(dy).max_pool2d_backward(dx, contiguous(dy), contiguous(indices));
  return dx;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& a) {
  check_floating("avg_pool2d", x);
  Tensor y = empty(pool2d_output_shape(x.shape(), a, "avg_pool2d"), x.dtype(), x.device());
  if (y.numel()) backend_for(x).avg_pool2d(y, contiguous(x), a);
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dArgs& a) {
  MDP_CHECK(dy.shape() == pool2d_output_shape(x_shape, a, "avg_pool2d_backward"),
            "avg_pool2d_backward: gradient {} does not match input {}", shape_str(dy.shape()), shape_str(x_shape));
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  if (dy.numel()) backend_for(dy).avg_pool2d_backward(dx, contiguous(dy), a);
  return dx;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t oh, int64_t ow) {
  check_floating("adaptive_avg_pool2d", x);
  MDP_CHECK(x.dim() == 4 && oh > 0 && ow > 0, "adaptive_avg_pool2d: input {} must be 4-D and output size {}x{} positive",
            shape_str(x.shape()), oh, ow);
  Tensor y = empty({x.size(0), x.size(1), oh, ow}, x.dtype(), x.device());
  if (y.numel()) backend_for(x).adaptive_avg_pool2d(y, contiguous(x));
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  if (dy.numel()) backend_for(dy).adaptive_avg_pool2d_backward(dx, contiguous(dy));
  return dx;
}

// ---------------------------------------------------------------- resize
Tensor resize_bilinear(const Tensor& x, int64_t oh, int64_t ow, bool align_corners) {
  check_floating("resize_bilinear", x);
  MDP_CHECK(x.dim() == 4 && oh > 0 && ow > 0, "resize_bilinear: input {} must be 4-D and size {}x{} positive",
            shape_str(x.shape()), oh, ow);
  Tensor y = empty({x.size(0), x.size(1), oh, ow}, x.dtype(), x.device());
  if (y.numel()) backend_for(x).resize_bilinear(y, contiguous(x), align_corners);
  return y;
}

Tensor resize_bilinear_backward(const Tensor& dy, const Shape& x_shape, bool align_corners) {
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  if (dy.numel()) backend_for(dy).resize_bilinear_backward(dx, contiguous(dy), align_corners);
  return dx;
}

Tensor resize_nearest(const Tensor& x, int64_t oh, int64_t ow) {
  MDP_CHECK((x.dim() == 4 || x.dim() == 3) && oh > 0 && ow > 0,
            "resize_nearest: input {} must be (N, C, H, W) or (N, H, W) and size {}x{} positive", shape_str(x.shape()), oh, ow);
  Tensor x4 = x.dim() == 3 ? unsqueeze(x, 1) : x;
  Tensor y = empty({x4.size(0), x4.size(1), oh, ow}, x.dtype(), x.device());
  if (y.numel()) backend_for(x).resize_nearest(y, contiguous(x4));
  return x.dim() == 3 ? squeeze(y, 1) : y;
}

Tensor resize_nearest_backward(const Tensor& dy, const Shape& x_shape) {
  Tensor dx = zeros(x_shape, dy.dtype(), dy.device());
  if (dy.numel()) backend_for(dy).resize_nearest_backward(dx, contiguous(dy));
  return dx;
}

// ---------------------------------------------------------------- softmax, cross-entropy
namespace {
Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  check_floating(log ? "log_softmax" : "softmax", x);
  dim = wrap_dim(dim, x.dim(), log ? "log_softmax" : "softmax");
  Tensor y = empty_like(x);
  if (y.numel()) backend_for(x).softmax(y, contiguous(x), dim, log);
  return y;
}
Tensor softmax_bw(const Tensor& dy, const Tensor& y, int64_t dim, bool log) {
  MDP_CHECK(dy.shape() == y.shape(), "softmax_backward: gradient {} and output {} differ", shape_str(dy.shape()), shape_str(y.shape()));
  dim = wrap_dim(dim, y.dim(), "softmax_backward");
  Tensor dx = empty_like(y);
  if (dx.numel()) backend_for(y).softmax_backward(dx, contiguous(dy), contiguous(y), dim, log);
  return dx;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) { return softmax_bw(dy, y, dim, false); }
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) { return softmax_bw(dy, y, dim, true); }

namespace {
// logits (N, K, ...) -> (N, K, S); target (N, ...) -> (N, S)
std::pair<Tensor, Tensor> ce_views(const Tensor& logits, const Tensor& target, const Tensor& weight, const char* op) {
  check_defined(op, logits, "logits");
  check_defined(op, target, "target");
  check_floating(op, logits);
  check_same_device(op, logits, target);
  MDP_CHECK(target.dtype() == DType::Int64, "{}: target must be int64, got {}", op, dtype_name(target.dtype()));
  MDP_CHECK(logits.dim() >= 2, "{}: logits {} must be (N, K) or (N, K, H, W)", op, shape_str(logits.shape()));
  Shape expect = logits.shape();
  expect.erase(expect.begin() + 1);
  MDP_CHECK(target.shape() == expect, "{}: target {} does not match logits {} (expected target {})", op,
            shape_str(target.shape()), shape_str(logits.shape()), shape_str(expect));
  if (weight.defined()) {
    check_same_dtype(op, logits, weight);
    MDP_CHECK(weight.dim() == 1 && weight.size(0) == logits.size(1), "{}: class weight {} does not match {} classes",
              op, shape_str(weight.shape()), logits.size(1));
  }
  int64_t N = logits.size(0), K = logits.size(1), S = logits.numel() / std::max<int64_t>(N * K, 1);
  return {reshape(contiguous(logits), {N, K, S}), reshape(contiguous(target), {N, S})};
}
}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  auto [l, t] = ce_views(logits, target, weight, "cross_entropy");
  Tensor loss = empty({}, logits.dtype(), logits.device());
  if (l.numel() == 0) fill_(loss, 0);
  else backend_for(logits).cross_entropy(loss, l, t, weight.defined() ? contiguous(weight) : weight, ignore_index);
  return loss;
}

Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& logits, const Tensor& target, const Tensor& weight,
                              int64_t ignore_index) {
  auto [l, t] = ce_views(logits, target, weight, "cross_entropy_backward");
  Tensor dl = empty(l.shape(), logits.dtype(), logits.device());
  if (l.numel()) backend_for(logits).cross_entropy_backward(dl, dloss.item(), l, t,
                                                            weight.defined() ? contiguous(weight) : weight, ignore_index);
  return view(dl, logits.shape());
}

// ---------------------------------------------------------------- joining, indexing
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  MDP_CHECK(!xs.empty(), "cat: no tensors given");
  const Tensor& f = xs[0];
  dim = wrap_dim(dim, f.dim(), "cat");
  Shape s = f.shape();
  s[dim] = 0;
  for (const Tensor& x : xs) {
    check_same_device("cat", f, x);
    check_same_dtype("cat", f, x);
    MDP_CHECK(x.dim() == f.dim(), "cat: tensors of rank {} and {} ({} vs {})", f.dim(), x.dim(), shape_str(f.shape()),
              shape_str(x.shape()));
    for (int64_t i = 0; i < f.dim(); ++i)
      MDP_CHECK(i == dim || x.shape()[i] == f.shape()[i], "cat: shapes {} and {} differ outside dim {}",
                shape_str(f.shape()), shape_str(x.shape()), dim);
    s[dim] += x.shape()[dim];
  }
  Tensor out = empty(s, f.dtype(), f.device());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    copy_(narrow(out, dim, at, x.shape()[dim]), x);
    at += x.shape()[dim];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  MDP_CHECK(!xs.empty(), "stack: no tensors given");
  std::vector<Tensor> u;
  for (const Tensor& x : xs) {
    MDP_CHECK(x.shape() == xs[0].shape(), "stack: shapes {} and {} differ", shape_str(xs[0].shape()), shape_str(x.shape()));
    u.push_back(unsqueeze(x, wrap_dim(dim, x.dim() + 1, "stack")));
  }
  return cat(u, dim < 0 ? dim + xs[0].dim() + 1 : dim);
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  MDP_CHECK(size > 0, "split: split size must be positive, got {}", size);
  dim = wrap_dim(dim, x.dim(), "split");
  std::vector<Tensor> r;
  for (int64_t at = 0; at < x.shape()[dim]; at += size)
    r.push_back(narrow(x, dim, at, std::min(size, x.shape()[dim] - at)));
  return r;
}

namespace {
void check_index(const char* op, const Tensor& x, const Tensor& index) {
  check_same_device(op, x, index);
  MDP_CHECK(index.dtype() == DType::Int64, "{}: index must be int64, got {}", op, dtype_name(index.dtype()));
}
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index("gather", x, index);
  dim = wrap_dim(dim, x.dim(), "gather");
  MDP_CHECK(index.dim() == x.dim(), "gather: index {} and input {} differ in rank", shape_str(index.shape()), shape_str(x.shape()));
  for (int64_t i = 0; i < x.dim(); ++i)
    MDP_CHECK(i == dim || index.shape()[i] <= x.shape()[i], "gather: index {} is larger than input {} in dim {}",
              shape_str(index.shape()), shape_str(x.shape()), i);
  Tensor out = empty(index.shape(), x.dtype(), x.device());
  if (out.numel()) backend_for(x).gather(out, x, dim, index);
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index("scatter_add", src, index);
  dim = wrap_dim(dim, int64_t(shape.size()), "scatter_add");
  MDP_CHECK(index.shape() == src.shape() && index.dim() == int64_t(shape.size()),
            "scatter_add: index {} and source {} must match and have the rank of output {}", shape_str(index.shape()),
            shape_str(src.shape()), shape_str(shape));
  Tensor out = zeros(shape, src.dtype(), src.device());
  if (src.numel()) backend_for(src).scatter_add(out, dim, index, src);
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index("scatter", x, index);
  check_same_dtype("scatter", x, src);
  dim = wrap_dim(dim, x.dim(), "scatter");
  MDP_CHECK(index.shape() == src.shape() && index.dim() == x.dim(),
            "scatter: index {} and source {} must match and have the rank of input {}", shape_str(index.shape()),
            shape_str(src.shape()), shape_str(x.shape()));
  Tensor out = clone(x);
  if (src.numel()) backend_for(x).scatter(out, dim, index, src);
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index("index_select", x, index);
  dim = wrap_dim(dim, x.dim(), "index_select");
  MDP_CHECK(index.dim() == 1, "index_select: index {} must be 1-D", shape_str(index.shape()));
  Shape s = x.shape();
  s[dim] = index.size(0);
  Tensor out = empty(s, x.dtype(), x.device());
  if (out.numel()) backend_for(x).index_select(out, x, dim, contiguous(index));
  return out;
}

Tensor index_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index("index_add", src, index);
  dim = wrap_dim(dim, int64_t(shape.size()), "index_add");
  Shape expect = shape;
  expect[dim] = index.numel();
  MDP_CHECK(index.dim() == 1 && src.shape() == expect, "index_add: source {} does not fit output {} with index {}",
            shape_str(src.shape()), shape_str(shape), shape_str(index.shape()));
  Tensor out = zeros(shape, src.dtype(), src.device());
  if (src.numel()) backend_for(src).index_add(out, dim, contiguous(index), src);
  return out;
}

Tensor one_hot(const Tensor& labels, int64_t K, DType dtype) {
  MDP_CHECK(labels.dtype() == DType::Int64, "one_hot: labels must be int64, got {}", dtype_name(labels.dtype()));
  MDP_CHECK(K > 0, "one_hot: number of classes must be positive, got {}", K);
  Shape s = labels.shape();
  s.push_back(K);
  Tensor out = zeros(s, dtype, labels.device());
  if (labels.numel()) backend_for(labels).one_hot(out, contiguous(labels));
  return out;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  dim = wrap_dim(dim, x.dim(), "topk");
  int64_t n = x.dim() ? x.shape()[dim] : 1;
  MDP_CHECK(k >= 0 && k <= n, "topk: k = {} is out of range for dim {} of size {} (shape {})", k, dim, n, shape_str(x.shape()));
  Shape s = x.shape();
  if (x.dim()) s[dim] = k;
  Tensor v = empty(s, x.dtype(), x.device()), i = empty(s, DType::Int64, x.device());
  if (v.numel()) backend_for(x).topk(v, i, x, k, dim, largest);
  return {v, i};
}

}  // namespace mdp::ops
