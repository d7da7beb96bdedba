// functions.cpp: forward through the raw op, backward written next to it. This is the gradient table:
// one short closure per op, using raw ops only.
#include "autograd/functions.h"

#include "autograd/autocast.h"

#include <cmath>
#include <numeric>

#include "tensor/error.h"
#include "tensor/random.h"

namespace mdp {
namespace {
using G = const TensorList&;

Tensor zero_like_scalar(const Tensor& t) { return ops::zeros({}, t.dtype(), t.device()); }
// g where mask, else 0
Tensor masked(const Tensor& mask, const Tensor& g) { return ops::where(mask, g, zero_like_scalar(g)); }

// An op with one input and one output whose gradient is g * dfdx(x, y).
Tensor unary_op(const char* name, ops::UnaryOp op, const Tensor& x, std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> grad) {
  Tensor y = ops::unary(op, x);
  record(name, {x}, {y}, [x, y = detach(y), grad](G g) -> TensorList { return {grad(g[0], x, y)}; });
  return y;
}
}  // namespace

// ------------------------------------------------------------------ elementwise
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = ops::add(a, b);
  record("add", {a, b}, {y}, [sa = a.shape(), sb = b.shape()](G g) -> TensorList {
    return {ops::sum_to(g[0], sa), ops::sum_to(g[0], sb)};
  });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = ops::sub(a, b);
  record("sub", {a, b}, {y}, [sa = a.shape(), sb = b.shape()](G g) -> TensorList {
    return {ops::sum_to(g[0], sa), ops::sum_to(ops::unary(ops::UnaryOp::Neg, g[0]), sb)};
  });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = ops::mul(a, b);
  bool ga = a.requires_grad(), gb = b.requires_grad();
  record("mul", {a, b}, {y}, [a, b, ga, gb](G g) -> TensorList {
    return {ga ? ops::sum_to(ops::mul(g[0], b), a.shape()) : Tensor(),
            gb ? ops::sum_to(ops::mul(g[0], a), b.shape()) : Tensor()};
  });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = ops::div(a, b);
  record("div", {a, b}, {y}, [a, b, y = detach(y)](G g) -> TensorList {
    Tensor ga = ops::div(g[0], b);
    return {ops::sum_to(ga, a.shape()), ops::sum_to(ops::unary(ops::UnaryOp::Neg, ops::mul(ga, y)), b.shape())};
  });
  return y;
}

namespace {
// Gradient of max/min: to the selected input, split evenly on ties (as PyTorch).
Tensor extreme(const char* name, ops::BinaryOp op, ops::CompareOp wins, const Tensor& a, const Tensor& b) {
  Tensor y = ops::binary(op, a, b);
  record(name, {a, b}, {y}, [a, b, wins](G g) -> TensorList {
    Tensor half = ops::mul(masked(ops::compare(ops::CompareOp::Eq, a, b), g[0]), 0.5);
    Tensor ga = ops::add(masked(ops::compare(wins, a, b), g[0]), half);
    Tensor gb = ops::add(masked(ops::compare(wins, b, a), g[0]), half);
    return {ops::sum_to(ga, a.shape()), ops::sum_to(gb, b.shape())};
  });
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extreme("maximum", ops::BinaryOp::Max, ops::CompareOp::Gt, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extreme("minimum", ops::BinaryOp::Min, ops::CompareOp::Lt, a, b); }

Tensor add(const Tensor& a, double s) {
  Tensor y = ops::add(a, s);
  record("add_scalar", {a}, {y}, [](G g) -> TensorList { return {g[0]}; });
  return y;
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = ops::mul(a, s);
  record("mul_scalar", {a}, {y}, [s](G g) -> TensorList { return {ops::mul(g[0], s)}; });
  return y;
}

Tensor neg(const Tensor& x) {
  return unary_op("neg", ops::UnaryOp::Neg, x, [](auto& g, auto&, auto&) { return ops::unary(ops::UnaryOp::Neg, g); });
}

Tensor pow(const Tensor& x, double e) {
  Tensor y = ops::pow(x, e);
  record("pow", {x}, {y}, [x, e](G g) -> TensorList { return {ops::mul(ops::mul(g[0], ops::pow(x, e - 1)), e)}; });
  return y;
}

Tensor exp(const Tensor& x) {
  return unary_op("exp", ops::UnaryOp::Exp, x, [](auto& g, auto&, auto& y) { return ops::mul(g, y); });
}
Tensor log(const Tensor& x) {
  return unary_op("log", ops::UnaryOp::Log, x, [](auto& g, auto& x, auto&) { return ops::div(g, x); });
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", ops::UnaryOp::Sqrt, x, [](auto& g, auto&, auto& y) { return ops::mul(ops::div(g, y), 0.5); });
}
Tensor rsqrt(const Tensor& x) {
  return unary_op("rsqrt", ops::UnaryOp::Rsqrt, x,
                  [](auto& g, auto&, auto& y) { return ops::mul(ops::mul(g, ops::pow(y, 3)), -0.5); });
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", ops::UnaryOp::Abs, x, [](auto& g, auto& x, auto&) { return ops::mul(g, ops::unary(ops::UnaryOp::Sign, x)); });
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", ops::UnaryOp::Sigmoid, x, [](auto& g, auto&, auto& y) {
    return ops::mul(g, ops::mul(y, ops::add(ops::unary(ops::UnaryOp::Neg, y), 1.0)));
  });
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", ops::UnaryOp::Tanh, x, [](auto& g, auto&, auto& y) {
    return ops::mul(g, ops::add(ops::unary(ops::UnaryOp::Neg, ops::mul(y, y)), 1.0));
  });
}
Tensor relu(const Tensor& x) {
  return unary_op("relu", ops::UnaryOp::Relu, x,
                  [](auto& g, auto&, auto& y) { return ops::binary(ops::BinaryOp::ReluGrad, g, y); });
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  Tensor y = ops::clamp(x, lo, hi);
  record("clamp", {x}, {y}, [x, lo, hi](G g) -> TensorList {
    Tensor keep = ops::ones(x.shape(), DType::Bool, x.device());
    if (lo) keep = ops::compare(ops::CompareOp::Ge, x, *lo);
    if (hi) keep = ops::where(ops::compare(ops::CompareOp::Le, x, *hi), keep, ops::zeros({}, DType::Bool, x.device()));
    return {masked(keep, g[0])};
  });
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor y = ops::where(cond, a, b);
  record("where", {a, b}, {y}, [cond, sa = a.shape(), sb = b.shape()](G g) -> TensorList {
    Tensor z = zero_like_scalar(g[0]);
    return {ops::sum_to(ops::where(cond, g[0], z), sa), ops::sum_to(ops::where(cond, z, g[0]), sb)};
  });
  return y;
}

// ------------------------------------------------------------------ reductions
namespace {
Shape keepdim_shape(const Shape& s, std::vector<int64_t> dims) {
  if (dims.empty()) return Shape(s.size(), 1);
  Shape k = s;
  for (int64_t d : dims) k[size_t(d < 0 ? d + int64_t(s.size()) : d)] = 1;
  return k;
}
}  // namespace

Tensor sum(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  Tensor y = ops::sum(x, dims, keepdim);
  record("sum", {x}, {y}, [xs = x.shape(), k = keepdim_shape(x.shape(), dims)](G g) -> TensorList {
    return {ops::expand(ops::reshape(g[0], k), xs)};
  });
  return y;
}

Tensor mean(const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
  Tensor y = ops::mean(x, dims, keepdim);
  double n = double(x.numel()) / double(std::max<int64_t>(y.numel(), 1));
  record("mean", {x}, {y}, [xs = x.shape(), k = keepdim_shape(x.shape(), dims), n](G g) -> TensorList {
    return {ops::expand(ops::reshape(ops::mul(g[0], 1.0 / n), k), xs)};
  });
  return y;
}

Tensor var(const Tensor& x, std::vector<int64_t> dims, bool unbiased, bool keepdim) {
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  if (dims.empty()) n = x.numel();
  Tensor c = sub(x, mean(x, dims, true));
  return mul(sum(mul(c, c), dims, keepdim), 1.0 / double(unbiased ? n - 1 : n));
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  auto [v, i] = ops::max_dim(x, dim, true);
  Tensor vo = keepdim ? v : ops::squeeze(v, dim), io = keepdim ? i : ops::squeeze(i, dim);
  record("max", {x}, {vo}, [xs = x.shape(), idx = i, dim, ks = v.shape()](G g) -> TensorList {
    return {ops::scatter_add(xs, dim, idx, ops::reshape(g[0], ks))};
  });
  return {vo, io};
}

// ------------------------------------------------------------------ shape
Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = ops::reshape(x, shape);
  record("reshape", {x}, {y}, [xs = x.shape()](G g) -> TensorList { return {ops::reshape(g[0], xs)}; });
  return y;
}

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  return reshape(x, ops::flatten(x, start, end).shape());
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor y = ops::permute(x, dims);
  std::vector<int64_t> inv(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inv[size_t(dims[i] < 0 ? dims[i] + x.dim() : dims[i])] = int64_t(i);
  record("permute", {x}, {y}, [inv](G g) -> TensorList { return {ops::permute(g[0], inv)}; });
  return y;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  std::vector<int64_t> p(size_t(x.dim()));
  std::iota(p.begin(), p.end(), 0);
  int64_t a = d0 < 0 ? d0 + x.dim() : d0, b = d1 < 0 ? d1 + x.dim() : d1;
  MDP_CHECK(a >= 0 && a < x.dim() && b >= 0 && b < x.dim(), "transpose: dims {} and {} out of range for shape {}",
            d0, d1, shape_str(x.shape()));
  std::swap(p[size_t(a)], p[size_t(b)]);
  return permute(x, p);
}

namespace {
// Gradient of a view that picks a part of x: zeros of x's shape with g copied into the same part.
Tensor into_part(const Shape& xs, const Tensor& g, const std::function<Tensor(const Tensor&)>& part) {
  Tensor z = ops::zeros(xs, g.dtype(), g.device());
  ops::copy_(part(z), g);
  return z;
}
}  // namespace

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Tensor y = ops::narrow(x, dim, start, length);
  record("narrow", {x}, {y}, [xs = x.shape(), dim, start, length](G g) -> TensorList {
    return {into_part(xs, g[0], [&](const Tensor& z) { return ops::narrow(z, dim, start, length); })};
  });
  return y;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  Tensor y = ops::slice(x, dim, start, end, step);
  record("slice", {x}, {y}, [xs = x.shape(), dim, start, end, step](G g) -> TensorList {
    return {into_part(xs, g[0], [&](const Tensor& z) { return ops::slice(z, dim, start, end, step); })};
  });
  return y;
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  Tensor y = ops::select(x, dim, index);
  record("select", {x}, {y}, [xs = x.shape(), dim, index](G g) -> TensorList {
    return {into_part(xs, g[0], [&](const Tensor& z) { return ops::select(z, dim, index); })};
  });
  return y;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor y = ops::expand(x, shape);
  record("expand", {x}, {y}, [xs = x.shape()](G g) -> TensorList { return {ops::sum_to(g[0], xs)}; });
  return y;
}

Tensor squeeze(const Tensor& x, int64_t dim) { return reshape(x, ops::squeeze(x, dim).shape()); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return reshape(x, ops::unsqueeze(x, dim).shape()); }

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor y = ops::contiguous(x);
  record("contiguous", {x}, {y}, [](G g) -> TensorList { return {g[0]}; });
  return y;
}

Tensor to(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = ops::to(x, dtype);
  record("to_dtype", {x}, {y}, [d = x.dtype()](G g) -> TensorList { return {ops::to(g[0], d)}; });
  return y;
}

Tensor to(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor y = ops::to(x, device);
  record("to_device", {x}, {y}, [d = x.device()](G g) -> TensorList { return {ops::to(g[0], d)}; });
  return y;
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  Tensor y = ops::cat(xs, dim);
  std::vector<int64_t> sizes;
  int64_t d = dim < 0 ? dim + xs[0].dim() : dim;
  for (const Tensor& x : xs) sizes.push_back(x.size(d));
  record("cat", xs, {y}, [sizes, d](G g) -> TensorList {
    TensorList r;
    int64_t at = 0;
    for (int64_t s : sizes) {
      r.push_back(ops::narrow(g[0], d, at, s));
      at += s;
    }
    return r;
  });
  return y;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  std::vector<Tensor> u;
  int64_t d = dim < 0 ? dim + xs.at(0).dim() + 1 : dim;
  for (const Tensor& x : xs) u.push_back(unsqueeze(x, d));
  return cat(u, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  MDP_CHECK(size > 0, "split: split size must be positive, got {}", size);
  int64_t d = dim < 0 ? dim + x.dim() : dim, n = x.size(d);
  std::vector<Tensor> r;
  for (int64_t at = 0; at < n; at += size) r.push_back(narrow(x, d, at, std::min(size, n - at)));
  return r;
}

// ------------------------------------------------------------------ linear algebra and nn
namespace {
// autocast.h: inside an enabled AutocastGuard, float32/bf16 operands of conv2d and matmul become bf16
// (differentiable casts) and the result is float32.
bool autocast_applies(const Tensor& a, const Tensor& b) {
  auto lower = [](const Tensor& t) { return t.dtype() == DType::Float32 || t.dtype() == DType::BFloat16; };
  return autocast_enabled() && lower(a) && lower(b);
}
}  // namespace

// Mixed precision (bf16 a, b; float32 y): the backward casts g to bf16 once and the raw ops return the
// gradients in float32, which the casts before this node pass on as they are; an operand that was bf16
// already gets its gradient in bf16.
Tensor matmul(const Tensor& a0, const Tensor& b0, bool ta, bool tb) {
  bool mixed = autocast_applies(a0, b0);
  Tensor a = mixed ? to(a0, autocast_dtype()) : a0, b = mixed ? to(b0, autocast_dtype()) : b0;
  std::optional<DType> od = mixed ? std::optional<DType>(DType::Float32) : std::nullopt;
  Tensor y = ops::matmul(a, b, ta, tb, od);
  bool na = a.requires_grad(), nb = b.requires_grad();
  record("matmul", {a, b}, {y}, [a, b, ta, tb, na, nb, da = a0.dtype(), db = b0.dtype()](G g) -> TensorList {
    Tensor A = ta ? ops::transpose(a, -1, -2) : a, B = tb ? ops::transpose(b, -1, -2) : b;
    Tensor gy = ops::to(g[0], a.dtype());  // bf16 under autocast, else g itself
    Tensor gA, gB;
    if (na) {
      gA = ops::matmul(gy, B, false, true, g[0].dtype());
      if (ta) gA = ops::transpose(gA, -1, -2);
      gA = ops::to(ops::contiguous(ops::sum_to(gA, a.shape())), da);
    }
    if (nb) {
      gB = ops::matmul(A, gy, true, false, g[0].dtype());
      if (tb) gB = ops::transpose(gB, -1, -2);
      gB = ops::to(ops::contiguous(ops::sum_to(gB, b.shape())), db);
    }
    return {gA, gB};
  });
  return y;
}

// Under autocast the result is bf16 (as torch.autocast's), so the activations between convolutions stay
// bf16: batch norm, ReLU and pooling run on them in bf16 with float32 arithmetic. The backward computes
// dx in x's dtype and dw, db in float32 (two calls: the backends run them as separate primitives anyway).
Tensor conv2d(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Conv2dArgs& a) {
  bool mixed = autocast_applies(x0, w0);
  Tensor x = mixed ? to(x0, autocast_dtype()) : x0, w = mixed ? to(w0, autocast_dtype()) : w0;
  Tensor b = mixed && b0.defined() ? to(b0, autocast_dtype()) : b0;
  Tensor y = ops::conv2d(x, w, b, a);
  bool nx = x.requires_grad(), nw = w.requires_grad(), nb = b.defined() && b.requires_grad();
  record("conv2d", {x, w, b}, {y}, [x, w, a, nx, nw, nb, mixed](G g) -> TensorList {
    Tensor gy = ops::to(g[0], x.dtype()), dx, dw, db;
    if (nx) dx = ops::conv2d_backward(gy, x, w, a, true, false, false).dx;
    if (nw || nb) {
      std::optional<DType> gd = mixed ? std::optional<DType>(DType::Float32) : std::nullopt;
      ops::Conv2dGrads r = ops::conv2d_backward(gy, x, w, a, false, nw, nb, gd);
      dw = r.dw;
      db = r.db;
    }
    return {dx, dw, db};
  });
  return y;
}

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  ops::BatchNormResult r = ops::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  record("batch_norm", {x, weight, bias}, {r.y},
         [x, weight, mean = r.save_mean, invstd = r.save_invstd, training](G g) -> TensorList {
           ops::BatchNormGrads d = ops::batch_norm_backward(g[0], x, weight, mean, invstd, training);
           return {d.dx, d.dweight, d.dbias};
         });
  return r.y;
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps, const Tensor& residual) {
  ops::BatchNormResult r =
      ops::batch_norm_relu(x, weight, bias, running_mean, running_var, training, momentum, eps, residual);
  record("batch_norm_relu", {x, weight, bias, residual}, {r.y},
         [x, y = detach(r.y), weight, mean = r.save_mean, invstd = r.save_invstd, training,
          has_residual = residual.defined()](G g) -> TensorList {
           ops::BatchNormGrads d =
               ops::batch_norm_relu_backward(g[0], y, x, weight, mean, invstd, training, has_residual);
           return {d.dx, d.dweight, d.dbias, d.dresidual};
         });
  return r.y;
}

Tensor max_pool2d(const Tensor& x, const Pool2dArgs& a) {
  auto [y, idx] = ops::max_pool2d(x, a);
  record("max_pool2d", {x}, {y}, [idx = idx, xs = x.shape()](G g) -> TensorList {
    return {ops::max_pool2d_backward(g[0], idx, xs)};
  });
  return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& a) {
  Tensor y = ops::avg_pool2d(x, a);
  record("avg_pool2d", {x}, {y}, [xs = x.shape(), a](G g) -> TensorList { return {ops::avg_pool2d_backward(g[0], xs, a)}; });
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t oh, int64_t ow) {
  Tensor y = ops::adaptive_avg_pool2d(x, oh, ow);
  record("adaptive_avg_pool2d", {x}, {y}, [xs = x.shape()](G g) -> TensorList {
    return {ops::adaptive_avg_pool2d_backward(g[0], xs)};
  });
  return y;
}

Tensor resize_bilinear(const Tensor& x, int64_t oh, int64_t ow, bool ac) {
  Tensor y = ops::resize_bilinear(x, oh, ow, ac);
  record("resize_bilinear", {x}, {y}, [xs = x.shape(), ac](G g) -> TensorList {
    return {ops::resize_bilinear_backward(g[0], xs, ac)};
  });
  return y;
}

Tensor resize_nearest(const Tensor& x, int64_t oh, int64_t ow) {
  Tensor y = ops::resize_nearest(x, oh, ow);
  record("resize_nearest", {x}, {y}, [xs = x.shape()](G g) -> TensorList {
    if (xs.size() == 3) {
      Shape x4{xs[0], 1, xs[1], xs[2]};
      return {ops::reshape(ops::resize_nearest_backward(ops::unsqueeze(g[0], 1), x4), xs)};
    }
    return {ops::resize_nearest_backward(g[0], xs)};
  });
  return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::softmax(x, dim);
  record("softmax", {x}, {y}, [y = detach(y), dim](G g) -> TensorList { return {ops::softmax_backward(g[0], y, dim)}; });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = ops::log_softmax(x, dim);
  record("log_softmax", {x}, {y}, [y = detach(y), dim](G g) -> TensorList { return {ops::log_softmax_backward(g[0], y, dim)}; });
  return y;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  Tensor loss = ops::cross_entropy(logits, target, weight, ignore_index);
  record("cross_entropy", {logits}, {loss}, [logits, target, weight, ignore_index](G g) -> TensorList {
    return {ops::cross_entropy_backward(g[0], logits, target, weight, ignore_index)};
  });
  return loss;
}

Tensor l2_normalize(const Tensor& x, int64_t dim, double eps) {
  Tensor norm = ops::unary(ops::UnaryOp::Sqrt, ops::sum(ops::mul(x, x), {dim}, true));
  Tensor d = ops::binary(ops::BinaryOp::Max, norm, eps);
  Tensor y = ops::div(x, d);
  record("l2_normalize", {x}, {y}, [y = detach(y), d, norm, dim, eps](G g) -> TensorList {
    // ||x|| > eps: dx = (g - y <g, y>) / d;   otherwise d = eps is a constant: dx = g / eps
    Tensor proj = ops::mul(y, ops::sum(ops::mul(g[0], y), {dim}, true));
    Tensor above = ops::compare(ops::CompareOp::Gt, norm, eps);
    return {ops::div(ops::where(above, ops::sub(g[0], proj), g[0]), d)};
  });
  return y;
}

namespace {
Tensor dropout_with_mask_shape(const Tensor& x, double p, const Shape& mask_shape, Generator* gen) {
  MDP_CHECK(p >= 0 && p < 1, "dropout: probability {} is not in [0, 1)", p);
  Tensor mask = ops::to(ops::mul(ops::bernoulli(mask_shape, 1 - p, DType::Float64, gen), 1.0 / (1 - p)), x.dtype());
  if (!x.device().is_cpu()) mask = ops::to(mask, x.device());
  return mul(x, mask);
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  if (!training || p == 0) return x;
  return dropout_with_mask_shape(x, p, x.shape(), gen);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  if (!training || p == 0) return x;
  MDP_CHECK(x.dim() == 4, "dropout2d: input {} must be (N, C, H, W)", shape_str(x.shape()));
  return dropout_with_mask_shape(x, p, {x.size(0), x.size(1), 1, 1}, gen);
}

// ------------------------------------------------------------------ indexing
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::gather(x, dim, index);
  record("gather", {x}, {y}, [xs = x.shape(), dim, index](G g) -> TensorList {
    return {ops::scatter_add(xs, dim, index, ops::contiguous(g[0]))};
  });
  return y;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = ops::index_select(x, dim, index);
  record("index_select", {x}, {y}, [xs = x.shape(), dim, index](G g) -> TensorList {
    return {ops::index_add(xs, dim, index, g[0])};
  });
  return y;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  auto [v, i] = ops::topk(x, k, dim, largest);
  if (!needs_grad({x})) return {v, i};
  return {gather(x, dim, i), i};
}

}  // namespace mdp
