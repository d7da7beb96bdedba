// mdp.cpp: the mdp command. For now it has one subcommand, `demo`: a small end-to-end run of the
// foundation — a two-layer convolutional network learns to segment bright squares from noise with
// autograd and plain SGD on the CPU backend. train/eval/predict/bench/data/pretrain come with later work.
#include <chrono>
#include <cstdio>
#include <string>

#include "apps/bench.h"
#include "autograd/functions.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace mdp;

namespace {
const char* kUsage =
    "usage: mdp <command> [options]\n\n"
    "commands:\n"
    "  demo     train a tiny convolutional segmenter on generated squares (CPU, a few seconds)\n"
    "  bench    time a workload of ../shared/peer/torch_peer.py (mdp bench --help)\n"
    "  help     this text\n\n"
    "The train, eval, predict, data and pretrain commands are not implemented yet.\n";

// A batch of N noisy (N, 1, S, S) images, each with one bright square; labels 1 inside, 0 outside.
std::pair<Tensor, Tensor> make_batch(int64_t N, int64_t S, Generator& g) {
  Tensor x = ops::mul(ops::randn({N, 1, S, S}, DType::Float32, &g), 0.5);
  Tensor y = ops::zeros({N, S, S}, DType::Int64);
  for (int64_t n = 0; n < N; ++n) {
    int64_t side = g.randint(S / 4, S / 2), top = g.randint(0, S - side), left = g.randint(0, S - side);
    Tensor xs = ops::narrow(ops::narrow(ops::select(ops::select(x, 0, n), 0, 0), 0, top, side), 1, left, side);
    ops::copy_(xs, ops::add(xs, 1.5));
    ops::fill_(ops::narrow(ops::narrow(ops::select(y, 0, n), 0, top, side), 1, left, side), 1);
  }
  return {x, y};
}

int demo() {
  std::printf("mdp demo: a 2-layer conv net (1 -> 8 -> 2 channels, 3x3) learns to segment squares\n");
  Generator g(0);
  Tensor w1 = ops::mul(ops::randn({8, 1, 3, 3}, DType::Float32, &g), 0.4), b1 = ops::zeros({8});
  Tensor w2 = ops::mul(ops::randn({2, 8, 3, 3}, DType::Float32, &g), 0.2), b2 = ops::zeros({2});
  std::vector<Tensor> params{w1, b1, w2, b2};
  for (Tensor& p : params) p.set_requires_grad(true);
  Conv2dArgs same{{1, 1}, {1, 1}, {1, 1}, 1};
  auto forward = [&](const Tensor& x) { return mdp::conv2d(relu(mdp::conv2d(x, w1, b1, same)), w2, b2, same); };

  const double lr = 0.5;
  auto t0 = std::chrono::steady_clock::now();
  for (int step = 1; step <= 150; ++step) {
    auto [x, y] = make_batch(8, 32, g);
    Tensor loss = cross_entropy(forward(x), y);
    for (Tensor& p : params) p.set_grad(Tensor());
    backward(loss);
    for (Tensor& p : params) ops::axpby_(p, -lr, p.grad(), 1.0);  // p -= lr * grad
    if (step == 1 || step % 25 == 0) std::printf("  step %3d  loss %.4f\n", step, loss.item());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  NoGradGuard no_grad;
  auto [x, y] = make_batch(32, 32, g);
  Tensor pred = ops::argmax(forward(x), 1);
  double acc = ops::mean(ops::to(ops::compare(ops::CompareOp::Eq, pred, y), DType::Float32)).item();
  std::printf("trained 150 steps in %.1f s; pixel accuracy on 32 new images: %.1f%%\n", secs, 100 * acc);
  std::printf("next: make test runs the op, autograd and PyTorch-parity suites (see README.md)\n");
  return acc > 0.9 ? 0 : 1;
}
}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "help";
  try {
    if (cmd == "demo") return demo();
    if (cmd == "bench") return apps::bench_main(argc, argv);
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "mdp: unknown or not yet implemented command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdp %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
