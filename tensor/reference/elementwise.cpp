// elementwise.cpp (reference): copy, fill, arithmetic, comparisons and where, element by element in double.
#include <cmath>

#include "tensor/error.h"
#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

double apply_binary(ops::BinaryOp op, double a, double b) {
  switch (op) {
    case ops::BinaryOp::Add: return a + b;
    case ops::BinaryOp::Sub: return a - b;
    case ops::BinaryOp::Mul: return a * b;
    case ops::BinaryOp::Div: return a / b;
    case ops::BinaryOp::Max: return std::isnan(a) || a > b ? a : b;  // NaN propagates, as torch.maximum
    case ops::BinaryOp::Min: return std::isnan(a) || a < b ? a : b;
    case ops::BinaryOp::Pow: return std::pow(a, b);
    case ops::BinaryOp::ReluGrad: return b > 0 ? a : 0.0;
  }
  return 0;
}

double apply_unary(ops::UnaryOp op, double x) {
  switch (op) {
    case ops::UnaryOp::Neg: return -x;
    case ops::UnaryOp::Exp: return std::exp(x);
    case ops::UnaryOp::Log: return std::log(x);
    case ops::UnaryOp::Sqrt: return std::sqrt(x);
    case ops::UnaryOp::Rsqrt: return 1.0 / std::sqrt(x);
    case ops::UnaryOp::Abs: return std::fabs(x);
    case ops::UnaryOp::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ops::UnaryOp::Tanh: return std::tanh(x);
    case ops::UnaryOp::Relu: return x <= 0 ? 0.0 : x;  // NaN stays NaN, as torch.relu
    case ops::UnaryOp::Square: return x * x;
    case ops::UnaryOp::Sign: return double((x > 0) - (x < 0));
  }
  return 0;
}

bool apply_compare(ops::CompareOp op, double a, double b) {
  switch (op) {
    case ops::CompareOp::Eq: return a == b;
    case ops::CompareOp::Ne: return a != b;
    case ops::CompareOp::Lt: return a < b;
    case ops::CompareOp::Le: return a <= b;
    case ops::CompareOp::Gt: return a > b;
    case ops::CompareOp::Ge: return a >= b;
  }
  return false;
}

void ReferenceBackend::copy(const Tensor& dst, const Tensor& src) { write_strided(dst, read_strided(src)); }

void ReferenceBackend::fill(const Tensor& t, double value) {
  write_strided(t, std::vector<double>(size_t(t.numel()), value));
}

void ReferenceBackend::binary(ops::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  auto va = read_strided(a), vb = read_strided(b);
  for (size_t i = 0; i < va.size(); ++i) va[i] = apply_binary(op, va[i], vb[i]);
  write_strided(out, va);
}

void ReferenceBackend::binary_scalar(ops::BinaryOp op, const Tensor& out, const Tensor& a, double b) {
  auto va = read_strided(a);
  for (auto& v : va) v = apply_binary(op, v, b);
  write_strided(out, va);
}

void ReferenceBackend::unary(ops::UnaryOp op, const Tensor& out, const Tensor& x) {
  auto v = read_strided(x);
  for (auto& e : v) e = apply_unary(op, e);
  write_strided(out, v);
}

void ReferenceBackend::compare(ops::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  auto va = read_strided(a), vb = read_strided(b);
  for (size_t i = 0; i < va.size(); ++i) va[i] = apply_compare(op, va[i], vb[i]);
  write_strided(out, va);
}

void ReferenceBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  auto c = read_strided(cond), va = read_strided(a), vb = read_strided(b);
  for (size_t i = 0; i < va.size(); ++i) va[i] = c[i] != 0 ? va[i] : vb[i];
  write_strided(out, va);
}

void ReferenceBackend::axpby(const Tensor& y, double a, const Tensor& x, double b) {
  auto vy = read_strided(y), vx = read_strided(x);
  for (size_t i = 0; i < vy.size(); ++i) vy[i] = a * vx[i] + b * vy[i];
  write_strided(y, vy);
}

void ReferenceBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const ops::SgdArgs& a) {
  auto p = read_strided(param), g = read_strided(grad);
  std::vector<double> b = a.momentum != 0 ? read_strided(buf) : std::vector<double>();
  for (size_t i = 0; i < p.size(); ++i) {
    double d = g[i] + a.weight_decay * p[i];
    if (a.momentum != 0) {
      b[i] = a.first_step ? d : a.momentum * b[i] + (1 - a.dampening) * d;
      d = a.nesterov ? d + a.momentum * b[i] : b[i];
    }
    p[i] -= a.lr * d;
  }
  write_strided(param, p);
  if (a.momentum != 0) write_strided(buf, b);
}

void ReferenceBackend::adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                                    const ops::AdamWArgs& a) {
  auto p = read_strided(param), g = read_strided(grad), vm = read_strided(m), vv = read_strided(v);
  double bc1 = 1 - std::pow(a.beta1, double(a.step)), bc2 = 1 - std::pow(a.beta2, double(a.step));
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] *= 1 - a.lr * a.weight_decay;
    vm[i] = a.beta1 * vm[i] + (1 - a.beta1) * g[i];
    vv[i] = a.beta2 * vv[i] + (1 - a.beta2) * g[i] * g[i];
    p[i] -= a.lr / bc1 * vm[i] / (std::sqrt(vv[i]) / std::sqrt(bc2) + a.eps);
  }
  write_strided(param, p);
  write_strided(m, vm);
  write_strided(v, vv);
}

}  // namespace mdp
