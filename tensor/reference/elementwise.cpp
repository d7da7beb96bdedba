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
    case ops::UnaryOp::Relu: return x > 0 ? x : 0.0;
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

}  // namespace mdp
