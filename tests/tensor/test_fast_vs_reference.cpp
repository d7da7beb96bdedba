// Suite fast_vs_reference: every op of the CPU backend against the reference backend on the same
// float32 inputs, forward and backward, including non-contiguous, broadcast, size-0 and size-1 cases;
// conv2d and matmul also in bfloat16 and mixed precision (bf16 inputs, float32 results), and the
// float32 <-> bfloat16 cast.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <optional>

#include "tensor/backend.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
// Runs f on the cpu backend and on the reference backend and compares every output.
void compare(const std::string& what, const std::function<std::vector<Tensor>()>& f, double atol = 1e-5,
             double rtol = 1e-4) {
  std::vector<Tensor> fast = f(), ref;
  {
    ReferenceScope scope;
    ref = f();
  }
  BOOST_REQUIRE_EQUAL(fast.size(), ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    BOOST_TEST(fast[i].dtype() == ref[i].dtype());
    close(fast[i], ref[i], atol, rtol, what + " output " + std::to_string(i));
  }
}
using V = std::vector<Tensor>;
}  // namespace

BOOST_AUTO_TEST_SUITE(fast_vs_reference)

BOOST_AUTO_TEST_CASE(elementwise) {
  Tensor a = randn({3, 4, 5}, DType::Float32, 1), b = randn({4, 1}, DType::Float32, 2);
  Tensor at = ops::transpose(randn({5, 4, 3}, DType::Float32, 3), 0, 2);  // non-contiguous (3, 4, 5)
  for (auto op : {ops::BinaryOp::Add, ops::BinaryOp::Sub, ops::BinaryOp::Mul, ops::BinaryOp::Div, ops::BinaryOp::Max,
                  ops::BinaryOp::Min, ops::BinaryOp::ReluGrad})
    compare("binary " + std::to_string(int(op)), [&] {
      return V{ops::binary(op, a, b), ops::binary(op, at, a), ops::binary(op, a, 0.5), ops::binary(op, ops::narrow(a, 0, 0, 0), b)};
    });
  compare("pow", [&] { return V{ops::pow(ops::unary(ops::UnaryOp::Abs, a), 1.5)}; });
  for (int u = 0; u <= int(ops::UnaryOp::Sign); ++u) {
    auto op = ops::UnaryOp(u);
    Tensor in = (op == ops::UnaryOp::Log || op == ops::UnaryOp::Sqrt || op == ops::UnaryOp::Rsqrt)
                    ? ops::add(ops::unary(ops::UnaryOp::Abs, at), 0.1) : at;
    compare("unary " + std::to_string(u), [&] { return V{ops::unary(op, in)}; });
  }
  for (int c = 0; c <= int(ops::CompareOp::Ge); ++c)
    compare("compare", [&] { return V{ops::compare(ops::CompareOp(c), a, b), ops::compare(ops::CompareOp(c), a, 0.0)}; });
  compare("where", [&] { return V{ops::where(ops::compare(ops::CompareOp::Gt, a, 0.0), at, b)}; });
  compare("clamp", [&] { return V{ops::clamp(a, -0.5, 0.5), ops::clamp(a, std::nullopt, 0.1)}; });
  compare("copy and convert", [&] {
    return V{ops::contiguous(at), ops::to(at, DType::BFloat16), ops::to(ops::to(at, DType::Int64), DType::Float64),
             ops::to(ops::compare(ops::CompareOp::Gt, at, 0.0), DType::UInt8)};
  });
  compare("axpby", [&] {
    Tensor y = ops::clone(a);
    ops::axpby_(y, 0.3, at, 0.9);
    return V{y};
  });
  Tensor i = ops::randint(-5, 5, {7, 3}, DType::Int64);
  compare("integers", [&] {
    return V{ops::add(i, i), ops::mul(i, 3.0), ops::sum(i, {0})};
  });
  compare("int64 large run", [&] { return V{ops::mul(ops::arange(0, 100000, 1, DType::Float32), 2.0)}; });
}

BOOST_AUTO_TEST_CASE(optimizer_updates) {
  Tensor p0 = randn({37, 5}, DType::Float32, 30), g = randn({37, 5}, DType::Float32, 31), b0 = randn({37, 5}, DType::Float32, 32);
  for (bool nesterov : {false, true})
    for (bool first : {false, true})
      compare("sgd", [&] {
        Tensor p = ops::clone(p0), b = ops::clone(b0), q = ops::clone(p0);
        ops::sgd_update_(p, g, b, {0.1, 0.9, 0.0, 1e-4, nesterov, first});
        ops::sgd_update_(q, g, Tensor(), {0.1, 0.0, 0.0, 5e-4, false, false});
        return V{p, b, q};
      });
  compare("adamw", [&] {
    Tensor p = ops::clone(p0), m = ops::zeros_like(p0), v = ops::zeros_like(p0);
    for (int64_t step = 1; step <= 3; ++step) ops::adamw_update_(p, g, m, v, {1e-2, 0.9, 0.999, 1e-8, 0.05, step});
    return V{p, m, v};
  });
}

BOOST_AUTO_TEST_CASE(reductions) {
  Tensor x = randn({4, 5, 6}, DType::Float32, 4);
  Tensor xt = ops::permute(x, {2, 0, 1});
  compare("reduce", [&] {
    return V{ops::sum(x), ops::sum(x, {1}), ops::mean(x, {0, 2}, true), ops::reduce(ops::ReduceOp::Max, xt, {2}, false),
             ops::reduce(ops::ReduceOp::Min, x, {0, 1}, false), ops::var(x, {1}), ops::var(xt, {0, 2}, false, true),
             ops::sum(ops::narrow(x, 1, 2, 1), {1})};
  });
  compare("argmax", [&] {
    auto [v, i] = ops::max_dim(xt, 1);
    auto [v2, i2] = ops::min_dim(x, -1, true);
    return V{v, i, v2, i2, ops::argmax(x, 0)};
  });
  compare("sum_to", [&] { return V{ops::sum_to(x, {5, 1}), ops::sum_to(x, {1, 1, 6})}; });
}

BOOST_AUTO_TEST_CASE(matmul) {
  Tensor a = randn({5, 7}, DType::Float32, 5), b = randn({7, 3}, DType::Float32, 6);
  Tensor ba = randn({4, 5, 7}, DType::Float32, 7), bb = randn({1, 7, 2}, DType::Float32, 8);
  compare("matmul", [&] {
    return V{ops::matmul(a, b), ops::matmul(ops::transpose(b, 0, 1), a, false, true), ops::matmul(ba, bb),
             ops::matmul(a, ops::transpose(randn({3, 7}), 0, 1)), ops::matmul(ops::narrow(a, 1, 0, 0), ops::narrow(b, 0, 0, 0))};
  }, 1e-4, 1e-4);
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
      // 1x1 stride 1: sgemm per image, the weight gradient accumulated over the batch
      {{3, 16, 5, 7}, {24, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
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
  };
  for (const Case& c : cases) {
    Tensor x = randn(c.x, DType::Float32, 9), w = randn(c.w, DType::Float32, 10);
    Tensor b = c.bias ? randn({c.w[0]}, DType::Float32, 11) : Tensor();
    Tensor dy = randn(ops::conv2d_output_shape(c.x, c.w, c.a), DType::Float32, 12);
    compare("conv2d " + shape_str(c.x) + " " + shape_str(c.w), [&] {
      auto g = ops::conv2d_backward(dy, x, w, c.a, true, true, c.bias);
      V r{ops::conv2d(x, w, b, c.a), g.dx, g.dw};
      if (c.bias) r.push_back(g.db);
      return r;
    }, 1e-4, 1e-4);
  }
}

// bf16: both backends get the same bf16 inputs and sum exact products, the reference in double and
// oneDNN in float32. Mixed-precision (float32) results then differ only by float32 summation:
// atol 1e-3 + rtol 1e-3 on values of size ~1-10. bf16 results may also round to neighbouring bf16
// values (2^-8 relative): atol = rtol = 2e-2.
constexpr double kMixedTol = 1e-3, kBf16Tol = 2e-2;

BOOST_AUTO_TEST_CASE(bf16_cast) {
  // Round to nearest even (u = 2^-7 is bf16's spacing in [1, 2): ties go to the even mantissa), NaN
  // stays NaN, infinity stays; a large value is within half a spacing.
  double u = std::ldexp(1.0, -7);
  std::vector<double> in{1.0, 1 + u / 2, 1 + u * 1.5, 1 + u / 2 + u / 64, -1 - u * 1.5, 3.0e38, INFINITY, NAN, 0.0};
  std::vector<double> want{1.0, 1.0, 1 + 2 * u, 1 + u, -1 - 2 * u, 3.0e38, INFINITY, NAN, 0.0};
  Tensor x = ops::from_vector(in, {int64_t(in.size())});
  for (bool ref : {false, true}) {
    std::optional<ReferenceScope> scope;
    if (ref) scope.emplace();
    std::vector<double> got = ops::to_vector(ops::to(x, DType::BFloat16));
    for (size_t i = 0; i < in.size(); ++i) {
      if (std::isnan(want[i])) { BOOST_TEST(std::isnan(got[i])); continue; }
      if (i == 5) { BOOST_TEST(std::fabs(got[i] - want[i]) <= std::fabs(want[i]) * u / 2); continue; }
      BOOST_TEST(got[i] == want[i], (ref ? "reference" : "cpu") << " value " << i << ": " << got[i] << " vs " << want[i]);
    }
  }
  Tensor at = ops::transpose(randn({5, 4, 3}, DType::Float32, 3), 0, 2);
  compare("cast f32 -> bf16 -> f32", [&] {
    Tensor b = ops::to(at, DType::BFloat16);
    return V{b, ops::to(b, DType::Float32), ops::to(ops::transpose(b, 0, 1), DType::Float32)};
  }, 0, 0);
}

BOOST_AUTO_TEST_CASE(bf16_matmul) {
  Tensor a = ops::to(randn({5, 7}, DType::Float32, 5), DType::BFloat16), b = ops::to(randn({7, 3}, DType::Float32, 6), DType::BFloat16);
  Tensor ba = ops::to(randn({4, 37, 70}, DType::Float32, 7), DType::BFloat16);
  Tensor bb = ops::to(randn({1, 70, 24}, DType::Float32, 8), DType::BFloat16);
  for (bool mixed : {true, false}) {
    std::optional<DType> od = mixed ? std::optional<DType>(DType::Float32) : std::nullopt;
    compare(mixed ? "matmul bf16 -> f32" : "matmul bf16", [&] {
      return V{ops::matmul(a, b, false, false, od), ops::matmul(ops::transpose(b, 0, 1), a, false, true, od),
               ops::matmul(ba, bb, false, false, od), ops::matmul(ba, ba, false, true, od),
               ops::matmul(ba, ba, true, false, od)};
    }, mixed ? kMixedTol : kBf16Tol, mixed ? kMixedTol : kBf16Tol);
  }
}

BOOST_AUTO_TEST_CASE(bf16_conv2d) {
  struct Case { Shape x, w; ops::Conv2dArgs a; bool bias; };
  std::vector<Case> cases = {
      {{2, 3, 9, 9}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
      {{2, 4, 11, 10}, {6, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}, false},
      {{1, 3, 13, 13}, {5, 3, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, true},
      {{2, 6, 8, 8}, {6, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}, true},
      {{1, 3, 16, 16}, {8, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}, 1}, false},
      {{2, 32, 10, 9}, {64, 32, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, false},  // AMX-sized channels
      {{2, 64, 7, 7}, {32, 64, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},    // 1x1: the matmul path
      {{1, 48, 5, 6}, {80, 48, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, false},   // 1x1, one image
      {{2, 32, 9, 9}, {64, 32, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}, false},   // 1x1 stride 2: the conv path
      {{1, 2, 1, 1}, {3, 2, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
  };
  for (const Case& c : cases)
    for (bool mixed : {true, false}) {
      DType gd = mixed ? DType::Float32 : DType::BFloat16;
      Tensor x = ops::to(randn(c.x, DType::Float32, 9), DType::BFloat16);
      Tensor w = ops::to(randn(c.w, DType::Float32, 10), DType::BFloat16);
      Tensor b = c.bias ? ops::to(randn({c.w[0]}, DType::Float32, 11), gd) : Tensor();
      Tensor dy = ops::to(randn(ops::conv2d_output_shape(c.x, c.w, c.a), DType::Float32, 12), DType::BFloat16);
      compare("conv2d " + shape_str(c.x) + " " + shape_str(c.w) + (mixed ? " bf16 -> f32" : " bf16"), [&] {
        auto g = ops::conv2d_backward(dy, x, w, c.a, true, true, c.bias, gd);
        V r{ops::conv2d(x, w, b, c.a, gd), g.dx, g.dw};
        if (c.bias) r.push_back(g.db);
        for (const Tensor& t : r) BOOST_TEST(t.dtype() == gd);
        // without dx (as for a network's first layer), and only the bias gradient
        auto g2 = ops::conv2d_backward(dy, x, w, c.a, false, true, false, gd);
        r.push_back(g2.dw);
        if (c.bias) r.push_back(ops::conv2d_backward(dy, x, w, c.a, false, false, true, gd).db);
        return r;
      }, mixed ? kMixedTol : kBf16Tol, mixed ? kMixedTol : kBf16Tol);
    }
  BOOST_TEST(throws_with([] { ops::conv2d(ops::zeros({1, 1, 3, 3}), ops::zeros({1, 1, 1, 1}), Tensor(), {}, DType::BFloat16); },
                         {"conv2d", "bfloat16 result from float32 inputs"}));
  BOOST_TEST(throws_with([] { ops::matmul(ops::zeros({2, 2}, DType::BFloat16), ops::zeros({2, 2}, DType::BFloat16), false, false, DType::Float64); },
                         {"matmul", "float64 result from bfloat16"}));
}

BOOST_AUTO_TEST_CASE(batch_norm) {
  for (bool training : {true, false}) {
    Tensor x = randn({4, 3, 5, 6}, DType::Float32, 13), w = randn({3}, DType::Float32, 14), b = randn({3}, DType::Float32, 15);
    Tensor dy = randn(x.shape(), DType::Float32, 16);
    compare(training ? "batch_norm train" : "batch_norm eval", [&] {
      Tensor rm = ops::zeros({3}), rv = ops::ones({3});
      auto r = ops::batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5);
      auto g = ops::batch_norm_backward(dy, x, w, r.save_mean, r.save_invstd, training);
      return V{r.y, r.save_mean, r.save_invstd, rm, rv, g.dx, g.dweight, g.dbias};
    }, 1e-4, 1e-4);
  }
  compare("batch_norm no affine (N, C)", [&] {
    Tensor x = randn({6, 4}, DType::Float32, 17);
    auto r = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
    return V{r.y, ops::batch_norm_backward(randn({6, 4}), x, Tensor(), r.save_mean, r.save_invstd, true).dx};
  }, 1e-4, 1e-4);
}

// The fused batch-norm + residual + ReLU (one pass on the cpu backend) against the reference backend's
// composition of batch_norm, add, relu and their backwards, in float32 and float64.
BOOST_AUTO_TEST_CASE(batch_norm_relu) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (bool training : {true, false})
      for (bool residual : {false, true}) {
        Tensor x = randn({4, 3, 5, 6}, dt, 21), w = randn({3}, DType::Float32, 22), b = randn({3}, DType::Float32, 23);
        Tensor r = residual ? randn(x.shape(), dt, 24) : Tensor(), dy = randn(x.shape(), dt, 25);
        std::string what = fmt::format("batch_norm_relu {} {}{}", dtype_name(dt), training ? "train" : "eval",
                                       residual ? " + residual" : "");
        compare(what, [&] {
          Tensor rm = ops::full({3}, 0.2), rv = ops::full({3}, 1.5);
          auto f = ops::batch_norm_relu(x, w, b, rm, rv, training, 0.1, 1e-5, r);
          auto g = ops::batch_norm_relu_backward(dy, f.y, x, w, f.save_mean, f.save_invstd, training, residual);
          V out{f.y, f.save_mean, f.save_invstd, rm, rv, g.dx, g.dweight, g.dbias};
          if (residual) out.push_back(g.dresidual);
          return out;
        }, 1e-4, 1e-4);
      }
  compare("batch_norm_relu (N, C), no affine, no dresidual", [&] {
    Tensor x = randn({6, 4}, DType::Float32, 26), r = randn({6, 4}, DType::Float32, 27);
    auto f = ops::batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, r);
    auto g = ops::batch_norm_relu_backward(randn({6, 4}, DType::Float32, 28), f.y, x, Tensor(), f.save_mean,
                                           f.save_invstd, true, false);
    BOOST_TEST(!g.dresidual.defined());
    return V{f.y, g.dx};
  }, 1e-4, 1e-4);
  // The fused op is exactly relu(batch_norm(x) + r) on the cpu backend too (the same arithmetic per element).
  Tensor x = randn({2, 4, 3, 3}, DType::Float32, 29), r = randn(x.shape(), DType::Float32, 30);
  auto fused = ops::batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, r);
  auto plain = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  close(fused.y, ops::unary(ops::UnaryOp::Relu, ops::add(plain.y, r)), 1e-6, 1e-6, "fused vs composed on cpu");
}

// Planes longer than the cpu kernels' 1024-value summation blocks (a full block plus a tail), on data
// whose mean is far from zero (the two-pass variance must not cancel), in float32, float64 and bf16.
BOOST_AUTO_TEST_CASE(batch_norm_long_planes) {
  for (DType dt : {DType::Float32, DType::Float64, DType::BFloat16})
    for (bool residual : {false, true}) {
      Tensor x = ops::to(ops::add(ops::mul(randn({2, 3, 40, 33}, DType::Float64, 41), 0.5), 30.0), dt);
      Tensor w = randn({3}, DType::Float32, 42), b = randn({3}, DType::Float32, 43);
      Tensor r = residual ? ops::to(randn(x.shape(), DType::Float64, 44), dt) : Tensor();
      Tensor dy = ops::to(randn(x.shape(), DType::Float64, 45), dt);
      // bf16 results round to 8 bits of mantissa: a one-ulp difference from the reference's rounding
      double tol = dt == DType::BFloat16 ? 2e-2 : 1e-4;
      std::string what = fmt::format("batch_norm long planes {}{}", dtype_name(dt), residual ? " + residual" : "");
      compare(what + " forward", [&] {
        Tensor rm = ops::zeros({3}), rv = ops::ones({3});
        auto f = ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
        auto fr = ops::batch_norm_relu(x, w, b, Tensor(), Tensor(), true, 0.1, 1e-5, r);
        return V{f.y, f.save_mean, f.save_invstd, rm, rv, fr.y};
      }, tol, tol);
      // The backward from the same forward results on both backends: in bf16 an output rounded to 0 on
      // one backend and to a tiny positive value on the other would flip the ReLU mask there.
      auto f = ops::batch_norm_relu(x, w, b, Tensor(), Tensor(), true, 0.1, 1e-5, r);
      compare(what + " backward", [&] {
        auto g = ops::batch_norm_backward(dy, x, w, f.save_mean, f.save_invstd, true);
        auto gr = ops::batch_norm_relu_backward(dy, f.y, x, w, f.save_mean, f.save_invstd, true, residual);
        V out{g.dx, g.dweight, g.dbias, gr.dx, gr.dweight, gr.dbias};
        if (residual) out.push_back(gr.dresidual);
        return out;
      }, tol, tol);
    }
}

BOOST_AUTO_TEST_CASE(pooling) {
  Tensor x = randn({2, 3, 9, 8}, DType::Float32, 18);
  for (ops::Pool2dArgs a : {ops::Pool2dArgs{{3, 3}, {2, 2}, {1, 1}, false, true}, ops::Pool2dArgs{{2, 2}, {2, 2}, {0, 0}, true, true},
                            ops::Pool2dArgs{{3, 2}, {2, 1}, {1, 0}, true, false}}) {
    compare("pool", [&] {
      auto [y, i] = ops::max_pool2d(x, a);
      Tensor dy = randn(y.shape(), DType::Float32, 19);
      Tensor ya = ops::avg_pool2d(x, a);
      return V{y, i, ops::max_pool2d_backward(dy, i, x.shape()), ya, ops::avg_pool2d_backward(dy, x.shape(), a)};
    });
  }
  // Wider planes: the cpu kernel's vectorised interior columns between the border windows, ties (small
  // integers) and a NaN, in float32, float64 and bf16, for ResNet's stem pooling and a ceil-mode one.
  for (DType dt : {DType::Float32, DType::Float64, DType::BFloat16}) {
    Tensor xi = ops::to(ops::to(ops::mul(randn({2, 3, 21, 37}, DType::Float32, 46), 2.0), DType::Int64), DType::Float32);
    std::vector<double> v = ops::to_vector(xi);
    v[5 * 37 + 11] = std::nan("");
    xi = ops::from_vector(v, xi.shape(), dt);
    for (ops::Pool2dArgs a : {ops::Pool2dArgs{{3, 3}, {2, 2}, {1, 1}, false, true}, ops::Pool2dArgs{{2, 3}, {2, 3}, {0, 1}, true, true}})
      compare(fmt::format("max pool wide {}", dtype_name(dt)), [&] {
        auto [y, i] = ops::max_pool2d(xi, a);
        return V{y, i, ops::max_pool2d_backward(ops::to(randn(y.shape(), DType::Float32, 47), dt), i, xi.shape())};
      }, dt == DType::BFloat16 ? 2e-2 : 1e-5, dt == DType::BFloat16 ? 1e-2 : 1e-4);  // bf16: gradients summed in bf16
  }
  compare("adaptive", [&] {
    Tensor y = ops::adaptive_avg_pool2d(x, 4, 3), g = ops::adaptive_avg_pool2d(x, 1, 1);
    return V{y, g, ops::adaptive_avg_pool2d_backward(randn(y.shape()), x.shape())};
  });
}

BOOST_AUTO_TEST_CASE(resize) {
  Tensor x = randn({2, 3, 5, 7}, DType::Float32, 20);
  for (bool ac : {false, true})
    for (auto [h, w] : {std::pair<int64_t, int64_t>{11, 13}, {3, 4}, {5, 7}, {1, 1}}) {
      compare("bilinear", [&] {
        Tensor y = ops::resize_bilinear(x, h, w, ac);
        return V{y, ops::resize_bilinear_backward(randn(y.shape()), x.shape(), ac)};
      });
    }
  Tensor labels = ops::randint(0, 20, {2, 17, 13});
  compare("nearest", [&] {
    Tensor y = ops::resize_nearest(x, 9, 4);
    return V{ops::resize_nearest(labels, 5, 4), ops::resize_nearest(labels, 40, 30), y,
             ops::resize_nearest_backward(randn(y.shape()), x.shape())};
  });
}

BOOST_AUTO_TEST_CASE(softmax_and_cross_entropy) {
  Tensor x = randn({2, 5, 3, 4}, DType::Float32, 21);
  for (int64_t d : {0, 1, 3, -1})
    compare("softmax", [&] {
      Tensor s = ops::softmax(x, d), l = ops::log_softmax(x, d), dy = randn(x.shape());
      return V{s, l, ops::softmax_backward(dy, s, d), ops::log_softmax_backward(dy, l, d)};
    });
  Tensor t = ops::randint(0, 5, {2, 3, 4});
  ops::fill_(ops::narrow(t, 1, 0, 1), 255);
  Tensor w = ops::rand({5});
  compare("cross_entropy", [&] {
    Tensor one = ops::scalar_tensor(1.0);
    return V{ops::cross_entropy(x, t, Tensor()), ops::cross_entropy(x, t, w), ops::cross_entropy_backward(one, x, t, Tensor()),
             ops::cross_entropy_backward(ops::scalar_tensor(0.5), x, t, w),
             ops::cross_entropy(ops::narrow(x, 0, 0, 1), ops::full({1, 3, 4}, 255, DType::Int64), Tensor())};
  });
}

BOOST_AUTO_TEST_CASE(indexing) {
  Tensor x = randn({4, 6}, DType::Float32, 22);
  Tensor idx = ops::randint(0, 6, {4, 3});
  Tensor idx2 = ops::randint(0, 4, {2, 4});
  compare("gather/scatter", [&] {
    Tensor src = randn({4, 3});
    return V{ops::gather(x, 1, idx), ops::scatter_add({4, 6}, 1, idx, src), ops::scatter(x, 1, ops::narrow(idx, 1, 0, 1),
             ops::narrow(src, 1, 0, 1)), ops::gather(ops::transpose(x, 0, 1), 0, idx2)};
  });
  Tensor sel = ops::from_vector({3, 0, 3}, {3}, DType::Int64);
  compare("index_select/add", [&] {
    return V{ops::index_select(x, 0, sel), ops::index_select(x, 1, sel), ops::index_add({4, 6}, 0, sel, randn({3, 6}))};
  });
  Tensor lab = ops::randint(0, 7, {3, 4});
  compare("one_hot", [&] { return V{ops::one_hot(lab, 7)}; });
  compare("topk", [&] {
    auto [v, i] = ops::topk(x, 3, 1);
    auto [v2, i2] = ops::topk(x, 2, 0, false);
    auto [v3, i3] = ops::topk(x, 6, -1);
    return V{v, i, v2, i2, v3, i3};
  });
  compare("cat/stack/split", [&] {
    auto parts = ops::split(x, 4, 1);
    return V{ops::cat({x, ops::transpose(randn({6, 2}), 0, 1)}, 0), ops::stack({x, x}, 1), parts[0], parts[1]};
  });
}

BOOST_AUTO_TEST_SUITE_END()
