// Suite cuda_vs_reference: every op of tests/tensor/test_fast_vs_reference.cpp run on the CUDA backend
// and compared with the reference backend on the same inputs, forward and backward, with non-contiguous
// (views made on the device), broadcast, size-0 and size-1 cases; the main ops also in bfloat16 (CUDA
// computes in float32, the reference in double: within a bf16 rounding) and float64.
#include <boost/test/unit_test.hpp>

#include <functional>

#include "cuda/cuda_backend.h"
#include "tensor/backend.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
using V = std::vector<Tensor>;
const Device kGpu = Device::cuda(0);
constexpr double kBf16Tol = 2e-2;

// Runs f on the GPU, then on the CPU under the reference backend, and compares every output. f gets
// the device and must put its inputs there (on()) before making views of them.
void compare(const std::string& what, const std::function<V(Device)>& f, double atol = 1e-5, double rtol = 1e-4) {
  V gpu = f(kGpu), ref;
  {
    ReferenceScope scope;
    ref = f(Device::cpu());
  }
  BOOST_REQUIRE_EQUAL(gpu.size(), ref.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    BOOST_TEST(gpu[i].device().is_cuda(), what << " output " << i << " is on " << gpu[i].device().str());
    BOOST_TEST(gpu[i].dtype() == ref[i].dtype());
    close(gpu[i], ref[i], atol, rtol, what + " output " + std::to_string(i));
  }
}

Tensor on(const Tensor& t, Device d) { return ops::to(t, d); }
Tensor on(const Tensor& t, Device d, DType dt) { return ops::to(ops::to(t, dt), d); }
double atol_for(DType t) { return t == DType::BFloat16 ? kBf16Tol : t == DType::Float64 ? 1e-10 : 1e-5; }
double rtol_for(DType t) { return t == DType::BFloat16 ? kBf16Tol : t == DType::Float64 ? 1e-10 : 1e-4; }
}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_vs_reference)

BOOST_AUTO_TEST_CASE(elementwise) {
  Tensor a0 = randn({3, 4, 5}, DType::Float32, 1), b0 = randn({4, 1}, DType::Float32, 2);
  Tensor at0 = randn({5, 4, 3}, DType::Float32, 3);  // transposed on the device: non-contiguous (3, 4, 5)
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64}) {
    std::string tag = std::string(" ") + dtype_name(dt);
    for (auto op : {ops::BinaryOp::Add, ops::BinaryOp::Sub, ops::BinaryOp::Mul, ops::BinaryOp::Div, ops::BinaryOp::Max,
                    ops::BinaryOp::Min})
      compare("binary " + std::to_string(int(op)) + tag, [&](Device d) {
        Tensor a = on(a0, d, dt), b = on(b0, d, dt), at = ops::transpose(on(at0, d, dt), 0, 2);
        return V{ops::binary(op, a, b), ops::binary(op, at, a), ops::binary(op, a, 0.5),
                 ops::binary(op, ops::narrow(a, 0, 0, 0), b)};
      }, atol_for(dt), rtol_for(dt));
    compare("pow" + tag, [&](Device d) { return V{ops::pow(ops::unary(ops::UnaryOp::Abs, on(a0, d, dt)), 1.5)}; },
            atol_for(dt), rtol_for(dt));
    for (int u = 0; u <= int(ops::UnaryOp::Sign); ++u) {
      auto op = ops::UnaryOp(u);
      compare("unary " + std::to_string(u) + tag, [&](Device d) {
        Tensor at = ops::transpose(on(at0, d, dt), 0, 2);
        Tensor in = (op == ops::UnaryOp::Log || op == ops::UnaryOp::Sqrt || op == ops::UnaryOp::Rsqrt)
                        ? ops::add(ops::unary(ops::UnaryOp::Abs, at), 0.1) : at;
        return V{ops::unary(op, in)};
      }, atol_for(dt), rtol_for(dt));
    }
  }
  for (int c = 0; c <= int(ops::CompareOp::Ge); ++c)
    compare("compare", [&](Device d) {
      Tensor a = on(a0, d), b = on(b0, d);
      return V{ops::compare(ops::CompareOp(c), a, b), ops::compare(ops::CompareOp(c), a, 0.0)};
    });
  compare("where", [&](Device d) {
    Tensor a = on(a0, d), b = on(b0, d), at = ops::transpose(on(at0, d), 0, 2);
    return V{ops::where(ops::compare(ops::CompareOp::Gt, a, 0.0), at, b),
             ops::where(ops::compare(ops::CompareOp::Gt, a, 0.0), ops::to(at, DType::Int64), ops::to(b, DType::Int64))};
  });
  compare("clamp", [&](Device d) {
    Tensor a = on(a0, d);
    return V{ops::clamp(a, -0.5, 0.5), ops::clamp(a, std::nullopt, 0.1)};
  });
  compare("copy and convert", [&](Device d) {
    Tensor at = ops::transpose(on(at0, d), 0, 2);
    return V{ops::contiguous(at), ops::to(at, DType::BFloat16), ops::to(ops::to(at, DType::Int64), DType::Float64),
             ops::to(ops::compare(ops::CompareOp::Gt, at, 0.0), DType::UInt8), ops::to(ops::to(at, DType::BFloat16), DType::Int32),
             ops::to(ops::to(at, DType::Float64), DType::Bool)};
  });
  compare("fill", [&](Device d) {
    V r;
    for (DType dt : {DType::Float32, DType::Float64, DType::BFloat16, DType::Int64, DType::Int32, DType::UInt8, DType::Bool}) {
      Tensor t = ops::zeros({4, 6}, dt, d);
      ops::fill_(ops::slice(t, 1, 1, 6, 2), 3.7);  // a strided view
      r.push_back(t);
    }
    return r;
  });
  compare("axpby", [&](Device d) {
    Tensor y = ops::clone(on(a0, d));
    ops::axpby_(y, 0.3, ops::transpose(on(at0, d), 0, 2), 0.9);
    return V{y};
  });
  Tensor i0 = ops::randint(-5, 5, {7, 3}, DType::Int64);
  compare("integers", [&](Device d) {
    Tensor i = on(i0, d);
    return V{ops::add(i, i), ops::mul(i, 3.0), ops::sum(i, {0}), ops::to(ops::mul(ops::to(i, DType::Int32), 2.0), DType::Int64)};
  });
  compare("large run", [&](Device d) { return V{ops::mul(ops::arange(0, 100000, 1, DType::Float32, d), 2.0)}; });
  compare("size 1 and 0-d", [&](Device d) {
    Tensor s = ops::scalar_tensor(2.5, DType::Float32, d), one = on(ops::narrow(a0, 0, 1, 1), d);
    return V{ops::add(s, s), ops::mul(one, s), ops::unary(ops::UnaryOp::Exp, s)};
  });
}

BOOST_AUTO_TEST_CASE(optimizer_updates) {
  Tensor p0 = randn({37, 5}, DType::Float32, 30), g0 = randn({37, 5}, DType::Float32, 31), b0 = randn({37, 5}, DType::Float32, 32);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64}) {
    for (bool nesterov : {false, true})
      for (bool first : {false, true})
        compare(std::string("sgd ") + dtype_name(dt), [&](Device d) {
          Tensor p = on(p0, d, dt), b = on(b0, d, dt), q = on(p0, d, dt), g = on(g0, d, dt);
          ops::sgd_update_(p, g, b, {0.1, 0.9, 0.0, 1e-4, nesterov, first});
          ops::sgd_update_(q, g, Tensor(), {0.1, 0.0, 0.0, 5e-4, false, false});
          return V{p, b, q};
        }, atol_for(dt), rtol_for(dt));
    compare(std::string("adamw ") + dtype_name(dt), [&](Device d) {
      Tensor p = on(p0, d, dt), g = on(g0, d, dt), m = ops::zeros({37, 5}, dt, d), v = ops::zeros({37, 5}, dt, d);
      for (int64_t step = 1; step <= 3; ++step) ops::adamw_update_(p, g, m, v, {1e-2, 0.9, 0.999, 1e-8, 0.05, step});
      return V{p, m, v};
    }, dt == DType::Float32 ? 1e-5 : atol_for(dt), dt == DType::Float64 ? 1e-9 : rtol_for(dt));
  }
}

BOOST_AUTO_TEST_CASE(reductions) {
  Tensor x0 = randn({4, 5, 6}, DType::Float32, 4);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    compare(std::string("reduce ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt), xt = ops::permute(x, {2, 0, 1});
      return V{ops::sum(x), ops::sum(x, {1}), ops::mean(x, {0, 2}, true), ops::reduce(ops::ReduceOp::Max, xt, {2}, false),
               ops::reduce(ops::ReduceOp::Min, x, {0, 1}, false), ops::var(x, {1}), ops::var(xt, {0, 2}, false, true),
               ops::sum(ops::narrow(x, 1, 2, 1), {1}), ops::sum(ops::narrow(x, 1, 0, 0), {1})};
    }, atol_for(dt), rtol_for(dt));
  compare("argmax", [&](Device d) {
    Tensor x = on(x0, d), xt = ops::permute(x, {2, 0, 1});
    auto [v, i] = ops::max_dim(xt, 1);
    auto [v2, i2] = ops::min_dim(x, -1, true);
    return V{v, i, v2, i2, ops::argmax(x, 0), ops::argmax(ops::narrow(x, 2, 0, 1), 2)};
  });
  compare("nan", [&](Device d) {
    Tensor x = ops::clone(on(x0, d));
    ops::fill_(ops::select(ops::select(x, 0, 1), 1, 3), NAN);
    return V{ops::reduce(ops::ReduceOp::Max, x, {2}, false), ops::max_dim(x, 2).second, ops::sum(x, {0})};
  });
  compare("sum_to", [&](Device d) {
    Tensor x = on(x0, d);
    return V{ops::sum_to(x, {5, 1}), ops::sum_to(x, {1, 1, 6})};
  });
  compare("long rows", [&](Device d) { return V{ops::sum(on(randn({3, 100003}, DType::Float32, 40), d), {1})}; }, 1e-3, 1e-4);
}

BOOST_AUTO_TEST_CASE(matmul) {
  Tensor a0 = randn({5, 7}, DType::Float32, 5), b0 = randn({7, 3}, DType::Float32, 6);
  Tensor ba0 = randn({4, 5, 7}, DType::Float32, 7), bb0 = randn({1, 7, 2}, DType::Float32, 8), c0 = randn({3, 7}, DType::Float32, 9);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    compare(std::string("matmul ") + dtype_name(dt), [&](Device d) {
      Tensor a = on(a0, d, dt), b = on(b0, d, dt), ba = on(ba0, d, dt), bb = on(bb0, d, dt), c = on(c0, d, dt);
      return V{ops::matmul(a, b), ops::matmul(ops::transpose(b, 0, 1), a, false, true), ops::matmul(ba, bb),
               ops::matmul(a, ops::transpose(c, 0, 1)), ops::matmul(ops::narrow(a, 1, 0, 0), ops::narrow(b, 0, 0, 0)),
               ops::matmul(ops::slice(a, 1, 0, 7, 2), ops::slice(b, 0, 0, 7, 2)),  // neither dim contiguous
               ops::matmul(ops::narrow(a, 0, 2, 1), b), ops::matmul(a, ops::narrow(b, 1, 1, 1)),
               ops::matmul(ba, ops::transpose(ba, 1, 2))};
    }, dt == DType::Float32 ? 1e-4 : atol_for(dt), dt == DType::Float32 ? 1e-4 : rtol_for(dt));
  // mixed precision: bf16 operands, float32 result (float32 accumulation on both sides, see tests/tensor)
  compare("matmul bf16 -> f32", [&](Device d) {
    Tensor a = on(a0, d, DType::BFloat16), b = on(b0, d, DType::BFloat16), ba = on(ba0, d, DType::BFloat16);
    Tensor bb = on(bb0, d, DType::BFloat16);
    return V{ops::matmul(a, b, false, false, DType::Float32), ops::matmul(ba, bb, false, false, DType::Float32),
             ops::matmul(ba, ba, false, true, DType::Float32), ops::matmul(ops::transpose(b, 0, 1), a, false, true, DType::Float32)};
  }, 1e-3, 1e-3);
  cuda::set_allow_tf32(true);
  compare("matmul tf32", [&](Device d) { return V{ops::matmul(on(ba0, d), on(bb0, d))}; }, 2e-2, 2e-2);
  cuda::set_allow_tf32(false);
}

BOOST_AUTO_TEST_CASE(conv2d) {
  struct Case { Shape x, w; ops::Conv2dArgs a; bool bias; };
  std::vector<Case> cases = {
      {{2, 3, 9, 9}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
      {{2, 4, 11, 10}, {6, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}, false},
      {{1, 3, 13, 13}, {5, 3, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, true},
      {{2, 6, 8, 8}, {6, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}, true},
      {{1, 4, 7, 7}, {4, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 4}, true},
      {{1, 3, 16, 16}, {8, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}, 1}, false},
      {{1, 2, 1, 1}, {3, 2, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
      {{2, 16, 12, 12}, {32, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
  };
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    for (const Case& c : cases) {
      Tensor x0 = randn(c.x, DType::Float32, 9), w0 = randn(c.w, DType::Float32, 10);
      Tensor b0 = c.bias ? randn({c.w[0]}, DType::Float32, 11) : Tensor();
      Tensor dy0 = randn(ops::conv2d_output_shape(c.x, c.w, c.a), DType::Float32, 12);
      compare("conv2d " + shape_str(c.x) + " " + shape_str(c.w) + " " + dtype_name(dt), [&](Device d) {
        Tensor x = on(x0, d, dt), w = on(w0, d, dt), b = c.bias ? on(b0, d, dt) : Tensor(), dy = on(dy0, d, dt);
        auto g = ops::conv2d_backward(dy, x, w, c.a, true, true, c.bias);
        V r{ops::conv2d(x, w, b, c.a), g.dx, g.dw};
        if (c.bias) r.push_back(g.db);
        return r;
      }, dt == DType::Float32 ? 1e-4 : dt == DType::BFloat16 ? 5e-2 : 1e-9, dt == DType::Float32 ? 1e-4 : rtol_for(dt));
    }
  // Mixed precision: bf16 x, w, dy; float32 y, dx, dw, db. cuDNN rounds y, dx and dw to bf16 before the
  // cast (see cuda/conv2d.cpp), so bf16 tolerances.
  for (const Case& c : cases) {
    Tensor x0 = randn(c.x, DType::Float32, 9), w0 = randn(c.w, DType::Float32, 10);
    Tensor b0 = c.bias ? randn({c.w[0]}, DType::Float32, 11) : Tensor();
    Tensor dy0 = randn(ops::conv2d_output_shape(c.x, c.w, c.a), DType::Float32, 12);
    compare("conv2d " + shape_str(c.x) + " " + shape_str(c.w) + " bf16 -> f32", [&](Device d) {
      Tensor x = on(x0, d, DType::BFloat16), w = on(w0, d, DType::BFloat16), dy = on(dy0, d, DType::BFloat16);
      Tensor b = c.bias ? on(b0, d) : Tensor();
      auto g = ops::conv2d_backward(dy, x, w, c.a, true, true, c.bias, DType::Float32);
      V r{ops::conv2d(x, w, b, c.a, DType::Float32), g.dx, g.dw};
      if (c.bias) r.push_back(g.db);
      return r;
    }, 5e-2, kBf16Tol);
  }
  cuda::set_allow_tf32(true);
  Tensor x0 = randn({2, 16, 12, 12}, DType::Float32, 13), w0 = randn({8, 16, 3, 3}, DType::Float32, 14);
  compare("conv2d tf32", [&](Device d) { return V{ops::conv2d(on(x0, d), on(w0, d), Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1})}; },
          5e-2, 2e-2);
  cuda::set_allow_tf32(false);
}

BOOST_AUTO_TEST_CASE(batch_norm) {
  Tensor x0 = randn({4, 3, 5, 6}, DType::Float32, 13), w0 = randn({3}, DType::Float32, 14), b0 = randn({3}, DType::Float32, 15);
  Tensor dy0 = randn(x0.shape(), DType::Float32, 16);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    for (bool training : {true, false}) {
      DType pd = dt == DType::BFloat16 ? DType::Float32 : dt;  // parameters as nn keeps them
      compare(std::string(training ? "batch_norm train " : "batch_norm eval ") + dtype_name(dt), [&](Device d) {
        Tensor x = on(x0, d, dt), w = on(w0, d, pd), b = on(b0, d, pd), dy = on(dy0, d, dt);
        Tensor rm = ops::zeros({3}, pd, d), rv = ops::ones({3}, pd, d);
        if (!training) {
          ops::fill_(rm, 0.2);
          ops::fill_(rv, 1.7);
        }
        auto r = ops::batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5);
        auto g = ops::batch_norm_backward(dy, x, w, r.save_mean, r.save_invstd, training);
        return V{r.y, r.save_mean, r.save_invstd, rm, rv, g.dx, g.dweight, g.dbias};
      }, dt == DType::Float32 ? 1e-4 : atol_for(dt), dt == DType::Float32 ? 1e-4 : dt == DType::Float64 ? 1e-9 : kBf16Tol);
    }
  compare("batch_norm bf16 parameters", [&](Device d) {
    Tensor x = on(x0, d, DType::BFloat16), w = on(w0, d, DType::BFloat16), b = on(b0, d, DType::BFloat16);
    Tensor rm = ops::zeros({3}, DType::BFloat16, d), rv = ops::ones({3}, DType::BFloat16, d);
    auto r = ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
    auto g = ops::batch_norm_backward(on(dy0, d, DType::BFloat16), x, w, r.save_mean, r.save_invstd, true);
    return V{r.y, rm, rv, g.dx, g.dweight, g.dbias};
  }, kBf16Tol, kBf16Tol);
  Tensor x2 = randn({6, 4}, DType::Float32, 17), dy2 = randn({6, 4}, DType::Float32, 18);
  compare("batch_norm no affine (N, C)", [&](Device d) {
    Tensor x = on(x2, d);
    auto r = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
    return V{r.y, ops::batch_norm_backward(on(dy2, d), x, Tensor(), r.save_mean, r.save_invstd, true).dx};
  }, 1e-4, 1e-4);
}

BOOST_AUTO_TEST_CASE(pooling) {
  Tensor x0 = randn({2, 3, 9, 8}, DType::Float32, 18);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    for (ops::Pool2dArgs a : {ops::Pool2dArgs{{3, 3}, {2, 2}, {1, 1}, false, true}, ops::Pool2dArgs{{2, 2}, {2, 2}, {0, 0}, true, true},
                              ops::Pool2dArgs{{3, 2}, {2, 1}, {1, 0}, true, false}}) {
      Tensor dy0 = randn(ops::pool2d_output_shape(x0.shape(), a, "test"), DType::Float32, 19);
      compare(std::string("pool ") + dtype_name(dt), [&](Device d) {
        Tensor x = on(x0, d, dt), dy = on(dy0, d, dt);
        auto [y, i] = ops::max_pool2d(x, a);
        return V{y, i, ops::max_pool2d_backward(dy, i, x.shape()), ops::avg_pool2d(x, a), ops::avg_pool2d_backward(dy, x.shape(), a)};
      }, atol_for(dt), rtol_for(dt));
    }
  Tensor g0 = randn({2, 3, 4, 3}, DType::Float32, 20);
  for (DType dt : {DType::Float32, DType::BFloat16})
    compare(std::string("adaptive ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt);
      return V{ops::adaptive_avg_pool2d(x, 4, 3), ops::adaptive_avg_pool2d(x, 1, 1),
               ops::adaptive_avg_pool2d_backward(on(g0, d, dt), x.shape())};
    }, atol_for(dt), rtol_for(dt));
}

BOOST_AUTO_TEST_CASE(resize) {
  Tensor x0 = randn({2, 3, 5, 7}, DType::Float32, 20);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    for (bool ac : {false, true})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{11, 13}, {3, 4}, {5, 7}, {1, 1}, {64, 3}}) {
        Tensor dy0 = randn({2, 3, h, w}, DType::Float32, 21);
        compare(std::string("bilinear ") + dtype_name(dt), [&](Device d) {
          Tensor x = on(x0, d, dt);
          return V{ops::resize_bilinear(x, h, w, ac), ops::resize_bilinear_backward(on(dy0, d, dt), x.shape(), ac)};
        }, atol_for(dt), rtol_for(dt));
      }
  Tensor labels0 = ops::randint(0, 20, {2, 17, 13});
  Tensor dy0 = randn({2, 3, 9, 4}, DType::Float32, 22);
  compare("nearest", [&](Device d) {
    Tensor x = on(x0, d), labels = on(labels0, d);
    return V{ops::resize_nearest(labels, 5, 4), ops::resize_nearest(labels, 40, 30), ops::resize_nearest(x, 9, 4),
             ops::resize_nearest_backward(on(dy0, d), x.shape()), ops::resize_nearest(ops::to(labels, DType::UInt8), 33, 7),
             ops::resize_nearest(on(x0, d, DType::BFloat16), 9, 4),
             ops::resize_nearest_backward(on(dy0, d, DType::BFloat16), x.shape())};
  });
}

BOOST_AUTO_TEST_CASE(softmax_and_cross_entropy) {
  Tensor x0 = randn({2, 5, 3, 4}, DType::Float32, 21), dy0 = randn({2, 5, 3, 4}, DType::Float32, 23);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    for (int64_t dim : {0, 1, 3, -1})
      compare(std::string("softmax ") + dtype_name(dt), [&](Device d) {
        Tensor x = on(x0, d, dt), dy = on(dy0, d, dt);
        Tensor s = ops::softmax(x, dim), l = ops::log_softmax(x, dim);
        return V{s, l, ops::softmax_backward(dy, s, dim), ops::log_softmax_backward(dy, l, dim)};
      }, atol_for(dt), rtol_for(dt));
  Tensor t0 = ops::randint(0, 5, {2, 3, 4});
  ops::fill_(ops::narrow(t0, 1, 0, 1), 255);
  Tensor w0 = ops::rand({5});
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64})
    compare(std::string("cross_entropy ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt), t = on(t0, d), w = on(w0, d, dt);
      Tensor one = ops::scalar_tensor(1.0, dt, d);
      return V{ops::cross_entropy(x, t, Tensor()), ops::cross_entropy(x, t, w), ops::cross_entropy_backward(one, x, t, Tensor()),
               ops::cross_entropy_backward(ops::scalar_tensor(0.5, dt, d), x, t, w),
               ops::cross_entropy(ops::narrow(x, 0, 0, 1), ops::full({1, 3, 4}, 255, DType::Int64, d), Tensor()),
               ops::cross_entropy_backward(one, ops::narrow(x, 0, 0, 1), ops::full({1, 3, 4}, 255, DType::Int64, d), Tensor()),
               ops::cross_entropy(ops::select(ops::select(x, 2, 0), 2, 0), ops::select(ops::select(t, 1, 1), 1, 0), w)};
    }, atol_for(dt), rtol_for(dt));
}

BOOST_AUTO_TEST_CASE(indexing) {
  Tensor x0 = randn({4, 6}, DType::Float32, 22), src0 = randn({4, 3}, DType::Float32, 24), add0 = randn({3, 6}, DType::Float32, 25);
  Tensor idx0 = ops::randint(0, 6, {4, 3});
  Tensor idx20 = ops::randint(0, 4, {2, 4});
  Tensor idx30 = ops::randint(0, 4, {5, 3});
  Tensor sel0 = ops::from_vector({3, 0, 3}, {3}, DType::Int64);
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Float64}) {
    compare(std::string("gather/scatter ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt), src = on(src0, d, dt), idx = on(idx0, d), idx2 = on(idx20, d);
      return V{ops::gather(x, 1, idx), ops::scatter_add({4, 6}, 1, idx, src),
               ops::scatter(x, 1, ops::narrow(idx, 1, 0, 1), ops::narrow(src, 1, 0, 1)),
               ops::gather(ops::transpose(x, 0, 1), 0, idx2),
               ops::gather(x, 0, ops::transpose(on(idx30, d), 0, 1))};  // non-contiguous index
    }, atol_for(dt), rtol_for(dt));
    compare(std::string("index_select/add ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt), sel = on(sel0, d);
      return V{ops::index_select(x, 0, sel), ops::index_select(x, 1, sel), ops::index_select(ops::transpose(x, 0, 1), 1, sel),
               ops::index_add({4, 6}, 0, sel, on(add0, d, dt)), ops::index_add({6, 4}, 1, sel, ops::transpose(on(add0, d, dt), 0, 1))};
    }, atol_for(dt), rtol_for(dt));
  }
  Tensor lab0 = ops::randint(0, 7, {3, 4});
  compare("one_hot", [&](Device d) {
    Tensor lab = on(lab0, d);
    return V{ops::one_hot(lab, 7), ops::one_hot(lab, 7, DType::BFloat16), ops::one_hot(lab, 7, DType::Int64)};
  });
  Tensor ties0 = ops::from_vector({1, 3, 3, 0, 3, 1, 2, 2}, {2, 4});
  for (DType dt : {DType::Float32, DType::BFloat16, DType::Int64})
    compare(std::string("topk ") + dtype_name(dt), [&](Device d) {
      Tensor x = on(x0, d, dt), ties = on(ties0, d, dt);
      auto [v, i] = ops::topk(x, 3, 1);
      auto [v2, i2] = ops::topk(x, 2, 0, false);
      auto [v3, i3] = ops::topk(x, 6, -1);
      auto [v4, i4] = ops::topk(ties, 3, 1);
      auto [v5, i5] = ops::topk(ties, 4, 1, false);
      auto [v6, i6] = ops::topk(ops::transpose(x, 0, 1), 1, 0);
      return V{v, i, v2, i2, v3, i3, v4, i4, v5, i5, v6, i6};
    });
  compare("cat/stack/split", [&](Device d) {
    Tensor x = on(x0, d);
    auto parts = ops::split(x, 4, 1);
    return V{ops::cat({x, ops::transpose(on(randn({6, 2}), d), 0, 1)}, 0), ops::stack({x, x}, 1), parts[0], parts[1]};
  });
}

BOOST_AUTO_TEST_SUITE_END()
