// ops_throughput.cpp: times the CPU backend's memory-bound ops (batch norm, fused batch-norm + ReLU,
// elementwise, pooling) on ResNet-50-sized activations and prints ms and effective GB/s per op. A
// benchmark for profiling the non-convolution part of a training step, not a test.
//
// Usage: bench_ops [N C H W] [repeats] [dtype]   (default 8 256 56 56, 10, float32; or bfloat16)
//        bench_ops --matmul-peak float32|bfloat16 [threads]: GFLOP/s of a 2048^3 matrix product through the
//        backend (oneDNN), median of 5, as one JSON line: the peak bench/compare.py sets bf16 workloads
//        against ("bf16_kernels": false where oneDNN has none on this CPU and bf16 runs in float32).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tensor/cpu/dnnl_context.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tensor/threads.h"

using namespace mdp;

namespace {
// Median milliseconds of f over repeats runs, after one warm-up run.
double time_ms(int repeats, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int matmul_peak(DType dt, int threads) {
  set_num_threads(threads);
  const int64_t n = 2048;
  Tensor a = ops::to(ops::randn({n, n}), dt), b = ops::to(ops::randn({n, n}), dt);
  std::vector<double> t;
  ops::matmul(a, b);
  for (int i = 0; i < 5; ++i) {
    auto s = std::chrono::steady_clock::now();
    ops::matmul(a, b);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  fmt::print("{{\"dtype\": \"{}\", \"threads\": {}, \"gflops\": {:.1f}, \"bf16_kernels\": {}}}\n", dtype_name(dt),
             threads, 2.0 * double(n * n * n) / t[2] / 1e9, cpu::has_bf16_kernels() ? "true" : "false");
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--matmul-peak")
    return matmul_peak(std::string(argv[2]) == "bfloat16" ? DType::BFloat16 : DType::Float32,
                       argc >= 4 ? std::atoi(argv[3]) : 2);
  Shape s{8, 256, 56, 56};
  if (argc >= 5) s = {std::atol(argv[1]), std::atol(argv[2]), std::atol(argv[3]), std::atol(argv[4])};
  int repeats = argc >= 6 ? std::atoi(argv[5]) : 10;
  DType dt = argc >= 7 && std::string(argv[6]) == "bfloat16" ? DType::BFloat16 : DType::Float32;
  int64_t C = s[1];
  Tensor x = ops::to(ops::randn(s), dt), r = ops::to(ops::randn(s), dt), dy = ops::to(ops::randn(s), dt);
  Tensor w = ops::ones({C}), b = ops::zeros({C}), rm = ops::zeros({C}), rv = ops::ones({C});
  double mb = double(x.numel()) * double(x.element_size()) / 1e6;  // one tensor, MB
  ops::BatchNormResult bn = ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
  ops::BatchNormResult bnr = ops::batch_norm_relu(x, w, b, rm, rv, true, 0.1, 1e-5, r);
  struct Row { const char* name; double tensors; std::function<void()> f; };
  std::vector<Row> rows{
      {"relu", 2, [&] { ops::unary(ops::UnaryOp::Relu, x); }},
      {"add", 3, [&] { ops::add(x, r); }},
      {"relu_grad", 3, [&] { ops::binary(ops::BinaryOp::ReluGrad, dy, x); }},
      {"batch_norm", 2, [&] { ops::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5); }},
      {"batch_norm_backward", 3, [&] { ops::batch_norm_backward(dy, x, w, bn.save_mean, bn.save_invstd, true); }},
      {"batch_norm_relu(+res)", 3, [&] { ops::batch_norm_relu(x, w, b, rm, rv, true, 0.1, 1e-5, r); }},
      {"batch_norm_relu_backward(+dres)", 5,
       [&] { ops::batch_norm_relu_backward(dy, bnr.y, x, w, bnr.save_mean, bnr.save_invstd, true, true); }},
      {"max_pool2d 3x3/2", 1.25, [&] { ops::max_pool2d(x, {{3, 3}, {2, 2}, {1, 1}}); }},
  };
  fmt::print("shape ({}, {}, {}, {}) {}, one tensor {:.1f} MB, median of {}\n", s[0], s[1], s[2], s[3], dtype_name(dt), mb,
             repeats);
  for (auto& row : rows) {
    double ms = time_ms(repeats, row.f);
    fmt::print("{:<34} {:8.2f} ms {:7.1f} GB/s\n", row.name, ms, row.tensors * mb / ms);
  }
}
