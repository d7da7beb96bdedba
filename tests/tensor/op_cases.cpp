// op_cases.cpp: the table of op_cases.h. Inputs are made once, on the CPU, when a group is built; each
// case copies them to its device (on()) and makes its views there.
#include "tests/tensor/op_cases.h"

#include <cmath>

#include "tensor/backend.h"
#include "tests/common.h"

namespace mdp::test {
namespace {
using V = std::vector<Tensor>;
const DType F32 = DType::Float32, BF16 = DType::BFloat16, F64 = DType::Float64;
const std::vector<DType> kFloats = {F32, BF16, F64};

// bf16 results may round to a neighbouring bf16 value (2^-8 relative); float64 runs agree with the
// reference (which computes in double) to rounding; float32 within float32 summation.
constexpr double kBf16Tol = 2e-2;
Tolerance tol_for(DType t, Tolerance f32 = {1e-5, 1e-4}) {
  if (t == BF16) return {kBf16Tol, kBf16Tol};
  if (t == F64) return {1e-9, 1e-9};
  return f32;
}
std::string tag(DType t) { return std::string(" ") + dtype_name(t); }

// A conv2d case: shapes, arguments, and whether it has a bias.
struct ConvShape {
  Shape x, w;
  ops::Conv2dArgs a;
  bool bias;
};
}  // namespace

Tensor on(const Tensor& t, Device d, std::optional<DType> dt) {
  Tensor c = dt ? ops::to(t, *dt) : t;
  return ops::clone(ops::to(c, d));
}

void check_case(const OpCase& c, Device device) {
  V fast = c.run(device), ref;
  {
    ReferenceScope scope;
    ref = c.run(Device::cpu());
  }
  const Tolerance t = device.is_cuda() && c.cuda_tol ? *c.cuda_tol : c.tol;
  BOOST_REQUIRE_EQUAL(fast.size(), ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    BOOST_TEST((fast[i].device() == device), c.name << " output " << i << " is on " << fast[i].device().str());
    BOOST_TEST(fast[i].dtype() == ref[i].dtype(), c.name << " output " << i);
    close(fast[i], ref[i], t.atol, t.rtol, c.name + " output " + std::to_string(i));
  }
}

void check_cases(const std::vector<OpCase>& cases, Device device) {
  for (const OpCase& c : cases) check_case(c, device);
}

std::vector<OpCase> elementwise_cases() {
  std::vector<OpCase> cs;
  Tensor a0 = randn({3, 4, 5}, F32, 1), b0 = randn({4, 1}, F32, 2);
  Tensor at0 = randn({5, 4, 3}, F32, 3);  // transposed on the device: non-contiguous (3, 4, 5)
  for (DType dt : kFloats) {
    for (auto op : {ops::BinaryOp::Add, ops::BinaryOp::Sub, ops::BinaryOp::Mul, ops::BinaryOp::Div, ops::BinaryOp::Max,
                    ops::BinaryOp::Min, ops::BinaryOp::ReluGrad})
      cs.push_back({"binary " + std::to_string(int(op)) + tag(dt), [=](Device d) {
                      Tensor a = on(a0, d, dt), b = on(b0, d, dt), at = ops::transpose(on(at0, d, dt), 0, 2);
                      return V{ops::binary(op, a, b), ops::binary(op, at, a), ops::binary(op, a, 0.5),
                               ops::binary(op, ops::narrow(a, 0, 0, 0), b)};
                    }, tol_for(dt)});
    cs.push_back({"pow" + tag(dt), [=](Device d) { return V{ops::pow(ops::unary(ops::UnaryOp::Abs, on(a0, d, dt)), 1.5)}; },
                  tol_for(dt)});
    for (int u = 0; u <= int(ops::UnaryOp::Sign); ++u) {
      auto op = ops::UnaryOp(u);
      cs.push_back({"unary " + std::to_string(u) + tag(dt), [=](Device d) {
                      Tensor at = ops::transpose(on(at0, d, dt), 0, 2);
                      Tensor in = (op == ops::UnaryOp::Log || op == ops::UnaryOp::Sqrt || op == ops::UnaryOp::Rsqrt)
                                      ? ops::add(ops::unary(ops::UnaryOp::Abs, at), 0.1) : at;
                      return V{ops::unary(op, in)};
                    }, tol_for(dt)});
    }
  }
  for (int c = 0; c <= int(ops::CompareOp::Ge); ++c)
    cs.push_back({"compare " + std::to_string(c), [=](Device d) {
                    Tensor a = on(a0, d), b = on(b0, d);
                    return V{ops::compare(ops::CompareOp(c), a, b), ops::compare(ops::CompareOp(c), a, 0.0)};
                  }});
  cs.push_back({"where", [=](Device d) {
                  Tensor a = on(a0, d), b = on(b0, d), at = ops::transpose(on(at0, d), 0, 2);
                  return V{ops::where(ops::compare(ops::CompareOp::Gt, a, 0.0), at, b),
                           ops::where(ops::compare(ops::CompareOp::Gt, a, 0.0), ops::to(at, DType::Int64), ops::to(b, DType::Int64))};
                }});
  cs.push_back({"clamp", [=](Device d) {
                  Tensor a = on(a0, d);
                  return V{ops::clamp(a, -0.5, 0.5), ops::clamp(a, std::nullopt, 0.1)};
                }});
  cs.push_back({"copy and convert", [=](Device d) {
                  Tensor at = ops::transpose(on(at0, d), 0, 2);
                  return V{ops::contiguous(at), ops::to(at, BF16), ops::to(ops::to(at, DType::Int64), F64),
                           ops::to(ops::compare(ops::CompareOp::Gt, at, 0.0), DType::UInt8),
                           ops::to(ops::to(at, BF16), DType::Int32), ops::to(ops::to(at, F64), DType::Bool)};
                }});
  cs.push_back({"cast f32 -> bf16 -> f32", [=](Device d) {
                  Tensor b = ops::to(ops::transpose(on(at0, d), 0, 2), BF16);
                  return V{b, ops::to(b, F32), ops::to(ops::transpose(b, 0, 1), F32)};
                }, {0, 0}});
  cs.push_back({"fill", [=](Device d) {
                  V r;
                  for (DType dt : {F32, F64, BF16, DType::Int64, DType::Int32, DType::UInt8, DType::Bool}) {
                    Tensor t = ops::zeros({4, 6}, dt, d);
                    ops::fill_(ops::slice(t, 1, 1, 6, 2), 3.7);  // a strided view
                    r.push_back(t);
                  }
                  return r;
                }});
  cs.push_back({"axpby", [=](Device d) {
                  Tensor y = on(a0, d);
                  ops::axpby_(y, 0.3, ops::transpose(on(at0, d), 0, 2), 0.9);
                  return V{y};
                }});
  Tensor i0 = ops::randint(-5, 5, {7, 3}, DType::Int64);
  cs.push_back({"integers", [=](Device d) {
                  Tensor i = on(i0, d);
                  return V{ops::add(i, i), ops::mul(i, 3.0), ops::sum(i, {0}),
                           ops::to(ops::mul(ops::to(i, DType::Int32), 2.0), DType::Int64)};
                }});
  cs.push_back({"large run", [=](Device d) { return V{ops::mul(ops::arange(0, 100000, 1, F32, d), 2.0)}; }});
  cs.push_back({"size 1 and 0-d", [=](Device d) {
                  Tensor s = ops::scalar_tensor(2.5, F32, d), one = ops::narrow(on(a0, d), 0, 1, 1);
                  return V{ops::add(s, s), ops::mul(one, s), ops::unary(ops::UnaryOp::Exp, s)};
                }});
  return cs;
}

std::vector<OpCase> optimizer_cases() {
  std::vector<OpCase> cs;
  Tensor p0 = randn({37, 5}, F32, 30), g0 = randn({37, 5}, F32, 31), b0 = randn({37, 5}, F32, 32);
  for (DType dt : kFloats) {
    for (bool nesterov : {false, true})
      for (bool first : {false, true})
        cs.push_back({"sgd" + tag(dt) + (nesterov ? " nesterov" : "") + (first ? " first" : ""), [=](Device d) {
                        Tensor p = on(p0, d, dt), b = on(b0, d, dt), q = on(p0, d, dt), g = on(g0, d, dt);
                        ops::sgd_update_(p, g, b, {0.1, 0.9, 0.0, 1e-4, nesterov, first});
                        ops::sgd_update_(q, g, Tensor(), {0.1, 0.0, 0.0, 5e-4, false, false});
                        return V{p, b, q};
                      }, tol_for(dt)});
    cs.push_back({"adamw" + tag(dt), [=](Device d) {
                    Tensor p = on(p0, d, dt), g = on(g0, d, dt), m = ops::zeros({37, 5}, dt, d), v = ops::zeros({37, 5}, dt, d);
                    for (int64_t step = 1; step <= 3; ++step) ops::adamw_update_(p, g, m, v, {1e-2, 0.9, 0.999, 1e-8, 0.05, step});
                    return V{p, m, v};
                  }, tol_for(dt)});
  }
  return cs;
}

std::vector<OpCase> reduction_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({4, 5, 6}, F32, 4);
  for (DType dt : kFloats)
    cs.push_back({"reduce" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt), xt = ops::permute(x, {2, 0, 1});
                    return V{ops::sum(x), ops::sum(x, {1}), ops::mean(x, {0, 2}, true), ops::reduce(ops::ReduceOp::Max, xt, {2}, false),
                             ops::reduce(ops::ReduceOp::Min, x, {0, 1}, false), ops::var(x, {1}), ops::var(xt, {0, 2}, false, true),
                             ops::sum(ops::narrow(x, 1, 2, 1), {1}), ops::sum(ops::narrow(x, 1, 0, 0), {1})};
                  }, tol_for(dt)});
  cs.push_back({"argmax", [=](Device d) {
                  Tensor x = on(x0, d), xt = ops::permute(x, {2, 0, 1});
                  auto [v, i] = ops::max_dim(xt, 1);
                  auto [v2, i2] = ops::min_dim(x, -1, true);
                  return V{v, i, v2, i2, ops::argmax(x, 0), ops::argmax(ops::narrow(x, 2, 0, 1), 2)};
                }});
  cs.push_back({"nan", [=](Device d) {
                  Tensor x = on(x0, d);
                  ops::fill_(ops::select(ops::select(x, 0, 1), 1, 3), NAN);
                  return V{ops::reduce(ops::ReduceOp::Max, x, {2}, false), ops::max_dim(x, 2).second, ops::sum(x, {0})};
                }});
  cs.push_back({"sum_to", [=](Device d) {
                  Tensor x = on(x0, d);
                  return V{ops::sum_to(x, {5, 1}), ops::sum_to(x, {1, 1, 6})};
                }});
  Tensor long0 = randn({3, 100003}, F32, 40);
  cs.push_back({"long rows", [=](Device d) { return V{ops::sum(on(long0, d), {1})}; }, {1e-3, 1e-4}});
  return cs;
}

std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cs;
  Tensor a0 = randn({5, 7}, F32, 5), b0 = randn({7, 3}, F32, 6);
  Tensor ba0 = randn({4, 5, 7}, F32, 7), bb0 = randn({1, 7, 2}, F32, 8), c0 = randn({3, 7}, F32, 9);
  for (DType dt : kFloats)
    cs.push_back({"matmul" + tag(dt), [=](Device d) {
                    Tensor a = on(a0, d, dt), b = on(b0, d, dt), ba = on(ba0, d, dt), bb = on(bb0, d, dt), c = on(c0, d, dt);
                    return V{ops::matmul(a, b), ops::matmul(ops::transpose(b, 0, 1), a, false, true), ops::matmul(ba, bb),
                             ops::matmul(a, ops::transpose(c, 0, 1)), ops::matmul(ops::narrow(a, 1, 0, 0), ops::narrow(b, 0, 0, 0)),
                             ops::matmul(ops::slice(a, 1, 0, 7, 2), ops::slice(b, 0, 0, 7, 2)),  // neither dim contiguous
                             ops::matmul(ops::narrow(a, 0, 2, 1), b), ops::matmul(a, ops::narrow(b, 1, 1, 1)),
                             ops::matmul(ba, ops::transpose(ba, 1, 2))};
                  }, tol_for(dt, {1e-4, 1e-4})});
  // bf16 operands: both backends sum exact products (the reference in double, the fast ones in float32).
  // A float32 result then differs only by float32 summation (1e-3 on values of ~1-10); a bf16 result
  // may also round to a neighbouring bf16.
  Tensor la0 = randn({4, 37, 70}, F32, 7), lb0 = randn({1, 70, 24}, F32, 8);
  for (bool mixed : {true, false}) {
    std::optional<DType> od = mixed ? std::optional<DType>(F32) : std::nullopt;
    const double t = mixed ? 1e-3 : kBf16Tol;
    cs.push_back({mixed ? "matmul bf16 -> f32" : "matmul bf16 (larger)", [=](Device d) {
                    Tensor a = on(a0, d, BF16), b = on(b0, d, BF16), ba = on(la0, d, BF16), bb = on(lb0, d, BF16);
                    return V{ops::matmul(a, b, false, false, od), ops::matmul(ops::transpose(b, 0, 1), a, false, true, od),
                             ops::matmul(ba, bb, false, false, od), ops::matmul(ba, ba, false, true, od),
                             ops::matmul(ba, ba, true, false, od)};
                  }, {t, t}});
  }
  return cs;
}

std::vector<OpCase> conv2d_cases() {
  std::vector<OpCase> cs;
  const std::vector<ConvShape> shapes = {
      {{2, 3, 9, 9}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
      {{2, 4, 11, 10}, {6, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}, false},
      {{1, 3, 13, 13}, {5, 3, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, true},
      {{2, 6, 8, 8}, {6, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}, true},
      {{1, 4, 7, 7}, {4, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 4}, true},
      {{1, 3, 16, 16}, {8, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}, 1}, false},
      {{1, 2, 1, 1}, {3, 2, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
      // 1x1 stride 1: sgemm per image, the weight gradient accumulated over the batch
      {{3, 16, 5, 7}, {24, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
      {{2, 16, 12, 12}, {32, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
      // 1x1 strided (ResNet's downsampling shortcuts), odd sizes
      {{3, 16, 9, 8}, {24, 16, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}, true},
      {{2, 8, 7, 9}, {12, 8, 1, 1}, {{2, 3}, {0, 0}, {1, 1}, 1}, false},
      // 3x3 stride 1 with ResNet-like channels: oneDNN's Winograd kernels
      {{2, 32, 14, 14}, {48, 32, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, false},
      // dilated, taps mostly in the padding (ASPP on a small map): one matrix product per valid tap
      {{2, 8, 6, 7}, {5, 8, 3, 3}, {{1, 1}, {4, 4}, {4, 4}, 1}, true},
      {{2, 8, 6, 7}, {5, 8, 3, 3}, {{1, 1}, {8, 8}, {8, 8}, 1}, false},  // only the centre tap is valid
      {{1, 4, 9, 5}, {3, 4, 3, 3}, {{1, 1}, {2, 6}, {2, 6}, 1}, true},    // mixed: rows dense, cols padding
      // dilated 3x3 with padding = dilation on a map divisible by it: Winograd on the interleaved sub-grids
      {{2, 16, 12, 16}, {24, 16, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, true},
      {{1, 8, 32, 24}, {8, 8, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, false},
      // bf16 paths of the CPU backend: AMX-sized channels, 1x1 as a matmul, 1x1 strided as a conv
      {{2, 32, 10, 9}, {64, 32, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, false},
      {{2, 64, 7, 7}, {32, 64, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
      {{1, 48, 5, 6}, {80, 48, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, false},
      {{2, 32, 9, 9}, {64, 32, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}, false},
  };
  for (const ConvShape& s : shapes) {
    Tensor x0 = randn(s.x, F32, 9), w0 = randn(s.w, F32, 10);
    Tensor b0 = s.bias ? randn({s.w[0]}, F32, 11) : Tensor();
    Tensor dy0 = randn(ops::conv2d_output_shape(s.x, s.w, s.a), F32, 12);
    const std::string what = "conv2d " + shape_str(s.x) + " " + shape_str(s.w);
    for (DType dt : kFloats) {
      Tolerance t = dt == BF16 ? Tolerance{5e-2, kBf16Tol} : tol_for(dt, {1e-4, 1e-4});
      cs.push_back({what + tag(dt), [=](Device d) {
                      Tensor x = on(x0, d, dt), w = on(w0, d, dt), b = s.bias ? on(b0, d, dt) : Tensor(), dy = on(dy0, d, dt);
                      auto g = ops::conv2d_backward(dy, x, w, s.a, true, true, s.bias);
                      V r{ops::conv2d(x, w, b, s.a), g.dx, g.dw};
                      if (s.bias) r.push_back(g.db);
                      // without dx (as for a network's first layer), and only the bias gradient
                      r.push_back(ops::conv2d_backward(dy, x, w, s.a, false, true, false).dw);
                      if (s.bias) r.push_back(ops::conv2d_backward(dy, x, w, s.a, false, false, true).db);
                      return r;
                    }, t});
    }
    // Mixed precision: bf16 x, w, dy; float32 y, dx, dw, db (float32 summation on both sides). cuDNN
    // rounds y, dx and dw to bf16 before the cast (see cuda/conv2d.cpp): bf16 tolerances there.
    cs.push_back({what + " bf16 -> f32", [=](Device d) {
                    Tensor x = on(x0, d, BF16), w = on(w0, d, BF16), dy = on(dy0, d, BF16), b = s.bias ? on(b0, d) : Tensor();
                    auto g = ops::conv2d_backward(dy, x, w, s.a, true, true, s.bias, F32);
                    V r{ops::conv2d(x, w, b, s.a, F32), g.dx, g.dw};
                    if (s.bias) r.push_back(g.db);
                    r.push_back(ops::conv2d_backward(dy, x, w, s.a, false, true, false, F32).dw);
                    return r;
                  }, {1e-3, 1e-3}, Tolerance{5e-2, kBf16Tol}});
  }
  return cs;
}

std::vector<OpCase> batch_norm_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({4, 3, 5, 6}, F32, 13), w0 = randn({3}, F32, 14), b0 = randn({3}, F32, 15), dy0 = randn(x0.shape(), F32, 16);
  for (DType dt : kFloats)
    for (bool training : {true, false}) {
      DType pd = dt == BF16 ? F32 : dt;  // parameters as nn keeps them
      cs.push_back({std::string(training ? "batch_norm train" : "batch_norm eval") + tag(dt), [=](Device d) {
                      Tensor x = on(x0, d, dt), w = on(w0, d, pd), b = on(b0, d, pd), dy = on(dy0, d, dt);
                      Tensor rm = ops::full({3}, training ? 0.0 : 0.2, pd, d), rv = ops::full({3}, training ? 1.0 : 1.7, pd, d);
                      auto r = ops::batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5);
                      auto g = ops::batch_norm_backward(dy, x, w, r.save_mean, r.save_invstd, training);
                      return V{r.y, r.save_mean, r.save_invstd, rm, rv, g.dx, g.dweight, g.dbias};
                    }, tol_for(dt, {1e-4, 1e-4})});
    }
  cs.push_back({"batch_norm bf16 parameters", [=](Device d) {
                  Tensor x = on(x0, d, BF16), w = on(w0, d, BF16), b = on(b0, d, BF16);
                  Tensor rm = ops::zeros({3}, BF16, d), rv = ops::ones({3}, BF16, d);
                  auto r = ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
                  auto g = ops::batch_norm_backward(on(dy0, d, BF16), x, w, r.save_mean, r.save_invstd, true);
                  return V{r.y, rm, rv, g.dx, g.dweight, g.dbias};
                }, {kBf16Tol, kBf16Tol}});
  Tensor x2 = randn({6, 4}, F32, 17), dy2 = randn({6, 4}, F32, 18);
  cs.push_back({"batch_norm no affine (N, C)", [=](Device d) {
                  Tensor x = on(x2, d);
                  auto r = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
                  return V{r.y, ops::batch_norm_backward(on(dy2, d), x, Tensor(), r.save_mean, r.save_invstd, true).dx};
                }, {1e-4, 1e-4}});

  // The fused batch norm + residual + ReLU against the reference backend's composition of batch_norm,
  // add, relu and their backwards.
  for (DType dt : {F32, F64})
    for (bool training : {true, false})
      for (bool residual : {false, true}) {
        Tensor x = randn({4, 3, 5, 6}, dt, 21), w = randn({3}, F32, 22), b = randn({3}, F32, 23);
        Tensor r = residual ? randn(x.shape(), dt, 24) : Tensor(), dy = randn(x.shape(), dt, 25);
        cs.push_back({fmt::format("batch_norm_relu {} {}{}", dtype_name(dt), training ? "train" : "eval", residual ? " + residual" : ""),
                      [=](Device d) {
                        Tensor xd = on(x, d), wd = on(w, d), bd = on(b, d), rd = residual ? on(r, d) : Tensor(), dyd = on(dy, d);
                        Tensor rm = ops::full({3}, 0.2, F32, d), rv = ops::full({3}, 1.5, F32, d);
                        auto f = ops::batch_norm_relu(xd, wd, bd, rm, rv, training, 0.1, 1e-5, rd);
                        auto g = ops::batch_norm_relu_backward(dyd, f.y, xd, wd, f.save_mean, f.save_invstd, training, residual);
                        V out{f.y, f.save_mean, f.save_invstd, rm, rv, g.dx, g.dweight, g.dbias};
                        if (residual) out.push_back(g.dresidual);
                        return out;
                      }, {1e-4, 1e-4}});
      }
  Tensor xn = randn({6, 4}, F32, 26), rn = randn({6, 4}, F32, 27), dyn = randn({6, 4}, F32, 28);
  cs.push_back({"batch_norm_relu (N, C), no affine, no dresidual", [=](Device d) {
                  Tensor x = on(xn, d);
                  auto f = ops::batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, on(rn, d));
                  auto g = ops::batch_norm_relu_backward(on(dyn, d), f.y, x, Tensor(), f.save_mean, f.save_invstd, true, false);
                  BOOST_TEST(!g.dresidual.defined());
                  return V{f.y, g.dx};
                }, {1e-4, 1e-4}});

  // Planes longer than the CPU kernels' 1024-value summation blocks (a full block plus a tail), on data
  // whose mean is far from zero (the two-pass variance must not cancel).
  for (DType dt : kFloats)
    for (bool residual : {false, true}) {
      Tensor x = ops::to(ops::add(ops::mul(randn({2, 3, 40, 33}, F64, 41), 0.5), 30.0), dt);
      Tensor w = randn({3}, F32, 42), b = randn({3}, F32, 43);
      Tensor r = residual ? ops::to(randn(x.shape(), F64, 44), dt) : Tensor();
      Tensor dy = ops::to(randn(x.shape(), F64, 45), dt);
      Tolerance t = dt == BF16 ? Tolerance{kBf16Tol, kBf16Tol} : Tolerance{1e-4, 1e-4};
      std::string what = fmt::format("batch_norm long planes {}{}", dtype_name(dt), residual ? " + residual" : "");
      cs.push_back({what + " forward", [=](Device d) {
                      Tensor xd = on(x, d), wd = on(w, d), bd = on(b, d), rd = residual ? on(r, d) : Tensor();
                      Tensor rm = ops::zeros({3}, F32, d), rv = ops::ones({3}, F32, d);
                      auto f = ops::batch_norm(xd, wd, bd, rm, rv, true, 0.1, 1e-5);
                      auto fr = ops::batch_norm_relu(xd, wd, bd, Tensor(), Tensor(), true, 0.1, 1e-5, rd);
                      return V{f.y, f.save_mean, f.save_invstd, rm, rv, fr.y};
                    }, t});
      // The backward from the same forward results on both sides (the reference's): in bf16 an output
      // rounded to 0 on one backend and to a tiny positive value on the other would flip the ReLU mask.
      ops::BatchNormResult f;
      {
        ReferenceScope scope;
        f = ops::batch_norm_relu(x, w, b, Tensor(), Tensor(), true, 0.1, 1e-5, r);
      }
      cs.push_back({what + " backward", [=](Device d) {
                      Tensor xd = on(x, d), wd = on(w, d), dyd = on(dy, d), y = on(f.y, d), m = on(f.save_mean, d),
                             is = on(f.save_invstd, d);
                      auto g = ops::batch_norm_backward(dyd, xd, wd, m, is, true);
                      auto gr = ops::batch_norm_relu_backward(dyd, y, xd, wd, m, is, true, residual);
                      V out{g.dx, g.dweight, g.dbias, gr.dx, gr.dweight, gr.dbias};
                      if (residual) out.push_back(gr.dresidual);
                      return out;
                    }, t});
    }
  return cs;
}

std::vector<OpCase> pooling_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({2, 3, 9, 8}, F32, 18);
  for (DType dt : kFloats)
    for (ops::Pool2dArgs a : {ops::Pool2dArgs{{3, 3}, {2, 2}, {1, 1}, false, true}, ops::Pool2dArgs{{2, 2}, {2, 2}, {0, 0}, true, true},
                              ops::Pool2dArgs{{3, 2}, {2, 1}, {1, 0}, true, false}}) {
      Tensor dy0 = randn(ops::pool2d_output_shape(x0.shape(), a, "test"), F32, 19);
      cs.push_back({"pool" + tag(dt), [=](Device d) {
                      Tensor x = on(x0, d, dt), dy = on(dy0, d, dt);
                      auto [y, i] = ops::max_pool2d(x, a);
                      return V{y, i, ops::max_pool2d_backward(dy, i, x.shape()), ops::avg_pool2d(x, a),
                               ops::avg_pool2d_backward(dy, x.shape(), a)};
                    }, tol_for(dt)});
    }
  // Wider planes: the CPU kernel's vectorised interior columns between the border windows, ties (small
  // integers) and a NaN, for ResNet's stem pooling and a ceil-mode one.
  for (DType dt : kFloats) {
    Tensor xi = ops::to(ops::to(ops::mul(randn({2, 3, 21, 37}, F32, 46), 2.0), DType::Int64), F32);
    std::vector<double> v = ops::to_vector(xi);
    v[5 * 37 + 11] = std::nan("");
    xi = ops::from_vector(v, xi.shape(), dt);
    for (ops::Pool2dArgs a : {ops::Pool2dArgs{{3, 3}, {2, 2}, {1, 1}, false, true}, ops::Pool2dArgs{{2, 3}, {2, 3}, {0, 1}, true, true}}) {
      Tensor dy0 = randn(ops::pool2d_output_shape(xi.shape(), a, "test"), F32, 47);
      cs.push_back({"max pool wide" + tag(dt), [=](Device d) {
                      Tensor x = on(xi, d);
                      auto [y, i] = ops::max_pool2d(x, a);
                      return V{y, i, ops::max_pool2d_backward(on(dy0, d, dt), i, x.shape())};
                    }, dt == BF16 ? Tolerance{2e-2, 1e-2} : tol_for(dt)});  // bf16: gradients summed in bf16
    }
  }
  Tensor g0 = randn({2, 3, 4, 3}, F32, 20);
  for (DType dt : {F32, BF16})
    cs.push_back({"adaptive" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt);
                    return V{ops::adaptive_avg_pool2d(x, 4, 3), ops::adaptive_avg_pool2d(x, 1, 1),
                             ops::adaptive_avg_pool2d_backward(on(g0, d, dt), x.shape())};
                  }, tol_for(dt)});
  return cs;
}

std::vector<OpCase> resize_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({2, 3, 5, 7}, F32, 20);
  for (DType dt : kFloats)
    for (bool ac : {false, true})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{11, 13}, {3, 4}, {5, 7}, {1, 1}, {64, 3}}) {
        Tensor dy0 = randn({2, 3, h, w}, F32, 21);
        cs.push_back({fmt::format("bilinear {}x{}{}{}", h, w, ac ? " align_corners" : "", tag(dt)), [=](Device d) {
                        Tensor x = on(x0, d, dt);
                        return V{ops::resize_bilinear(x, h, w, ac), ops::resize_bilinear_backward(on(dy0, d, dt), x.shape(), ac)};
                      }, tol_for(dt)});
      }
  Tensor labels0 = ops::randint(0, 20, {2, 17, 13});
  Tensor dy0 = randn({2, 3, 9, 4}, F32, 22);
  cs.push_back({"nearest", [=](Device d) {
                  Tensor x = on(x0, d), labels = on(labels0, d);
                  return V{ops::resize_nearest(labels, 5, 4), ops::resize_nearest(labels, 40, 30), ops::resize_nearest(x, 9, 4),
                           ops::resize_nearest_backward(on(dy0, d), x.shape()), ops::resize_nearest(ops::to(labels, DType::UInt8), 33, 7),
                           ops::resize_nearest(on(x0, d, BF16), 9, 4), ops::resize_nearest_backward(on(dy0, d, BF16), x.shape())};
                }});
  return cs;
}

std::vector<OpCase> softmax_cross_entropy_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({2, 5, 3, 4}, F32, 21), dy0 = randn({2, 5, 3, 4}, F32, 23);
  for (DType dt : kFloats)
    for (int64_t dim : {0, 1, 3, -1})
      cs.push_back({"softmax dim " + std::to_string(dim) + tag(dt), [=](Device d) {
                      Tensor x = on(x0, d, dt), dy = on(dy0, d, dt);
                      Tensor s = ops::softmax(x, dim), l = ops::log_softmax(x, dim);
                      return V{s, l, ops::softmax_backward(dy, s, dim), ops::log_softmax_backward(dy, l, dim)};
                    }, tol_for(dt)});
  Tensor t0 = ops::randint(0, 5, {2, 3, 4});
  ops::fill_(ops::narrow(t0, 1, 0, 1), 255);
  Tensor w0 = ops::rand({5});
  for (DType dt : kFloats)
    cs.push_back({"cross_entropy" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt), t = on(t0, d), w = on(w0, d, dt);
                    Tensor one = ops::scalar_tensor(1.0, dt, d), none = ops::full({1, 3, 4}, 255, DType::Int64, d);
                    return V{ops::cross_entropy(x, t, Tensor()), ops::cross_entropy(x, t, w),
                             ops::cross_entropy_backward(one, x, t, Tensor()),
                             ops::cross_entropy_backward(ops::scalar_tensor(0.5, dt, d), x, t, w),
                             ops::cross_entropy(ops::narrow(x, 0, 0, 1), none, Tensor()),  // every pixel ignored
                             ops::cross_entropy_backward(one, ops::narrow(x, 0, 0, 1), none, Tensor()),
                             ops::cross_entropy(ops::select(ops::select(x, 2, 0), 2, 0), ops::select(ops::select(t, 1, 1), 1, 0), w)};
                  }, tol_for(dt)});
  return cs;
}

std::vector<OpCase> indexing_cases() {
  std::vector<OpCase> cs;
  Tensor x0 = randn({4, 6}, F32, 22), src0 = randn({4, 3}, F32, 24), add0 = randn({3, 6}, F32, 25);
  Tensor idx0 = ops::randint(0, 6, {4, 3}), idx20 = ops::randint(0, 4, {2, 4}), idx30 = ops::randint(0, 4, {5, 3});
  Tensor sel0 = ops::from_vector({3, 0, 3}, {3}, DType::Int64);
  for (DType dt : kFloats) {
    cs.push_back({"gather/scatter" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt), src = on(src0, d, dt), idx = on(idx0, d), idx2 = on(idx20, d);
                    return V{ops::gather(x, 1, idx), ops::scatter_add({4, 6}, 1, idx, src),
                             ops::scatter(x, 1, ops::narrow(idx, 1, 0, 1), ops::narrow(src, 1, 0, 1)),
                             ops::gather(ops::transpose(x, 0, 1), 0, idx2),
                             ops::gather(x, 0, ops::transpose(on(idx30, d), 0, 1))};  // non-contiguous index
                  }, tol_for(dt)});
    cs.push_back({"index_select/add" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt), sel = on(sel0, d);
                    return V{ops::index_select(x, 0, sel), ops::index_select(x, 1, sel),
                             ops::index_select(ops::transpose(x, 0, 1), 1, sel), ops::index_add({4, 6}, 0, sel, on(add0, d, dt)),
                             ops::index_add({6, 4}, 1, sel, ops::transpose(on(add0, d, dt), 0, 1))};
                  }, tol_for(dt)});
  }
  Tensor lab0 = ops::randint(0, 7, {3, 4});
  cs.push_back({"one_hot", [=](Device d) {
                  Tensor lab = on(lab0, d);
                  return V{ops::one_hot(lab, 7), ops::one_hot(lab, 7, BF16), ops::one_hot(lab, 7, DType::Int64)};
                }});
  Tensor ties0 = ops::from_vector({1, 3, 3, 0, 3, 1, 2, 2}, {2, 4});
  for (DType dt : {F32, BF16, DType::Int64})
    cs.push_back({"topk" + tag(dt), [=](Device d) {
                    Tensor x = on(x0, d, dt), ties = on(ties0, d, dt);
                    auto [v, i] = ops::topk(x, 3, 1);
                    auto [v2, i2] = ops::topk(x, 2, 0, false);
                    auto [v3, i3] = ops::topk(x, 6, -1);
                    auto [v4, i4] = ops::topk(ties, 3, 1);
                    auto [v5, i5] = ops::topk(ties, 4, 1, false);
                    auto [v6, i6] = ops::topk(ops::transpose(x, 0, 1), 1, 0);
                    return V{v, i, v2, i2, v3, i3, v4, i4, v5, i5, v6, i6};
                  }});
  Tensor extra0 = randn({6, 2}, F32, 26);
  cs.push_back({"cat/stack/split", [=](Device d) {
                  Tensor x = on(x0, d);
                  auto parts = ops::split(x, 4, 1);
                  return V{ops::cat({x, ops::transpose(on(extra0, d), 0, 1)}, 0), ops::stack({x, x}, 1), parts[0], parts[1]};
                }});
  return cs;
}

}  // namespace mdp::test
