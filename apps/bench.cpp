// bench.cpp: `mdp bench --workload W --batch B --size S --threads T --steps N [--warmup W] [--device D]
// [--precision P]`: warm up, time N steps, print {"workload", "framework", "device", "precision", "batch",
// "size", "threads", "steps", "ms_per_step", "images_per_s", "peak_rss_mb", "peak_device_mb", "ranks",
// "allreduce_ms_per_step", "params", "forward_flops_per_image"} on stdout (the peer's schema plus the last
// two: nn::summarize's counts, for checking a twin model) and the achieved GFLOP/s (forward FLOPs x 3 for
// training, x 4 for mdp-pretrain, whose key encoder runs a second forward pass) on stderr.
// experiment-train / experiment-infer: the model of `mdp experiment paper-ablations` (its PyTorch twin:
// bench/experiment_twin.py).
// Under `mpirun -np N`, the supervised workloads run data parallel (batch per rank, images_per_s of all
// ranks, rank 0 prints); "allreduce_ms_per_step" is null with one rank. --precision bf16 runs every step
// under an AutocastGuard (autograd/autocast.h): conv and linear in bf16 with float32 accumulation, bf16
// activations between layers, float32 parameters, loss and optimizer, as the peer's torch.autocast(bfloat16).
#include "apps/bench.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "apps/cli.h"
#include "apps/experiment.h"
#include "data/generated.h"
#include "autograd/autocast.h"
#include "mdp/mdp_net.h"
#include "mdp/proto_loss.h"
#include "mdp/prototype_bank.h"
#include "nn/data_parallel.h"
#include "nn/deeplabv3.h"
#include "nn/distributed.h"
#include "nn/layers.h"
#include "nn/optimizer.h"
#include "nn/summary.h"
#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace mdp::apps {
namespace {

struct Workload {
  std::function<void()> step;
  int64_t forward_flops = 0;  // per step (batch x per image), nn::summarize's count
  double passes = 1;          // forward-pass equivalents a step computes: 1 inference, 3 training (forward +
                              // the two halves of the backward), 4 for MDP (+ the key encoder's forward)
  int64_t params = 0;
  bool train = false;
};

// Under mpirun: the time spent waiting for the gradient all-reduces after each backward pass (the part the
// backward pass did not hide), summed over the timed steps.
double allreduce_seconds = 0;

// Where a training step's time goes, summed over the timed steps (printed on stderr for CPU runs; on CUDA
// the host returns before the kernels finish, so a split would mean nothing). Supervised: "forward"
// includes zero_grad, "backward" the wait for the gradient all-reduces; mdp-pretrain: "backward" includes
// zero_grad.
struct Phases {
  double forward = 0, loss = 0, backward = 0, optimizer = 0;
  double key_update = 0, key_forward = 0, bank = 0;  // mdp-pretrain: the momentum encoder and the bank
} phases;
double seconds_since(std::chrono::steady_clock::time_point& t) {
  auto now = std::chrono::steady_clock::now();
  double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}

// Training (SGD, cross-entropy) or inference steps of a supervised model on fixed random data. Under
// mpirun, training is data parallel as `mdp train` runs it: SyncBN, the parameters broadcast from rank 0,
// the gradients averaged after each backward pass (each rank its own random batch).
Workload supervised(std::shared_ptr<nn::Module> model, bool train, const Shape& input, Tensor target, Device dev,
                    const std::string& optimizer = "sgd") {
  nn::ProcessGroup& world = nn::world();
  if (train && world.size() > 1) {
    nn::convert_sync_batchnorm(*model);
    nn::broadcast_parameters(*model, world);
  }
  model->to(dev);
  Workload w;
  nn::ModelSummary summary = nn::summarize(*model, {1, input[1], input[2], input[3]});
  w.forward_flops = summary.total_flops * input[0];
  w.params = summary.total_params;
  w.train = train;
  w.passes = train ? 3 : 1;
  Tensor x = ops::to(ops::randn(input), dev), y = ops::to(target, dev);
  if (!train) {
    model->eval();
    w.step = [model, x] {
      NoGradGuard ng;
      (*model)(x);
    };
    return w;
  }
  std::shared_ptr<nn::Optimizer> opt;
  if (optimizer == "adamw") opt = std::make_shared<nn::AdamW>(nn::make_param_groups(*model), nn::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
  else opt = std::make_shared<nn::SGD>(nn::make_param_groups(*model), nn::SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
  auto reducer = std::make_shared<nn::GradientReducer>(*model, world);
  w.step = [model, opt, x, y, reducer] {
    auto t = std::chrono::steady_clock::now();
    opt->zero_grad();
    reducer->prepare_for_backward();
    Tensor loss = cross_entropy((*model)(x), y);
    phases.forward += seconds_since(t);
    backward(loss);
    allreduce_seconds += reducer->finish().wait_seconds;
    phases.backward += seconds_since(t);
    opt->step();
    phases.optimizer += seconds_since(t);
  };
  return w;
}

Workload classification(bool train, int64_t B, int64_t S, Device dev) {
  auto model = std::make_shared<nn::ResNet>(nn::ResNetConfig{.depth = 50});
  return supervised(model, train, {B, 3, S, S}, ops::randint(0, 1000, {B}), dev);
}

Workload segmentation(bool train, int64_t B, int64_t S, Device dev) {
  auto model = std::make_shared<nn::DeepLabV3>(nn::DeepLabV3Config{});
  return supervised(model, train, {B, 3, S, S}, ops::randint(0, 21, {B, S, S}), dev);
}

// The model of `mdp experiment paper-ablations` and `mdp demo` (GeneratedScale's defaults): DeepLabV3 with
// the MMSeg head (64 channels) on ResNet-18 at width 1/2, output stride 8, world_b's 12 classes, AdamW
// (lr 1e-3, weight decay 0.01) as the experiment trains it; batch 8 of 64x64 there. Its PyTorch twin is
// bench/experiment_twin.py.
Workload experiment_model(bool train, int64_t B, int64_t S, Device dev) {
  const GeneratedScale sc;
  const int classes = int(data::world_domains().domains[1].class_names.size());  // world_b
  auto model = std::make_shared<nn::DeepLabV3>(nn::DeepLabV3Config{
      .layout = nn::SegLayout::MMSeg,
      .backbone = {.depth = sc.depth, .replace_stride_with_dilation = {false, true, true}, .width = sc.width, .include_top = false},
      .num_classes = classes,
      .channels = sc.channels});
  return supervised(model, train, {B, 3, S, S}, ops::randint(0, classes, {B, S, S}), dev, "adamw");
}

Workload pretraining(int64_t B, int64_t S, Device dev) {
  const int64_t C = 21 + 150 + 171, D = 256;
  auto q = std::make_shared<MDPNet>(MDPNetConfig{});
  auto k = std::make_shared<MDPNet>(MDPNetConfig{});
  copy_weights(*k, *q);
  k->set_frozen(true);
  q->to(dev);
  k->to(dev);
  auto opt = std::make_shared<nn::SGD>(nn::make_param_groups(*q), nn::SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4});
  auto bank = std::make_shared<PrototypeBank>(PrototypeBankOptions{C, D, "queue", 4096, 0.99}, dev);
  Tensor x = ops::to(ops::randn({B, 3, S, S}), dev), y = ops::to(ops::randint(0, C, {B, S / 8, S / 8}), dev);
  {  // a filled bank, as the peer's random prototypes
    NoGradGuard ng;
    Tensor r = ops::randn({C, D});
    std::vector<double> v = ops::to_vector(r);
    for (int64_t c = 0; c < C; ++c) bank->push(c, std::vector<float>(v.begin() + c * D, v.begin() + (c + 1) * D));
    bank->update(ops::zeros({1, D, 1, 1}, DType::Float32, dev), ops::full({1, 1, 1}, 255, DType::Int64, dev));
  }
  Workload w;
  nn::ModelSummary summary = nn::summarize(*q, {1, 3, S, S});
  w.forward_flops = summary.total_flops * B;
  w.params = summary.total_params;
  w.train = true;
  w.passes = 4;
  w.step = [q, k, opt, bank, x, y, D] {
    auto t = std::chrono::steady_clock::now();
    Tensor z = (*q)(x);
    phases.forward += seconds_since(t);
    Tensor zp = reshape(permute(z, {0, 2, 3, 1}), {-1, D});
    ProtoLossResult r = proto_loss(zp, ops::reshape(y, {-1}), bank->prototypes(), bank->filled(), {});
    phases.loss += seconds_since(t);
    opt->zero_grad();
    backward(r.loss);
    phases.backward += seconds_since(t);
    opt->step();
    phases.optimizer += seconds_since(t);
    NoGradGuard ng;
    momentum_update(*k, *q, 0.999);
    phases.key_update += seconds_since(t);
    Tensor keys = (*k)(x);
    phases.key_forward += seconds_since(t);
    bank->update(keys, y);
    phases.bank += seconds_since(t);
  };
  return w;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace

int bench_main(int argc, char** argv) {
  cli::Parser p("bench", "Runs one workload of ../shared/peer/torch_peer.py and prints one JSON line in its schema.",
                {{"--workload", "W", "resnet50-train | resnet50-infer | deeplabv3-train | deeplabv3-infer | mdp-pretrain | experiment-train | "
                  "experiment-infer", ""},
                 {"--batch", "B", "batch size", "8"},
                 {"--size", "S", "input height and width", "224"},
                 {"--threads", "T", "CPU threads", "2"},
                 {"--steps", "N", "timed steps", "3"},
                 {"--warmup", "W", "untimed steps first", "1"},
                 {"--device", "D", "cpu | cuda", "cpu"},
                 {"--precision", "P", "fp32 | bf16", "fp32"},
                 {"--seed", "S", "random seed", "0"}});
  if (!p.parse(argc, argv, 2)) return 0;
  std::string wl = p.str("--workload");
  MDP_CHECK(!wl.empty(), "mdp bench: --workload is required (resnet50-train, resnet50-infer, deeplabv3-train, "
            "deeplabv3-infer, mdp-pretrain, experiment-train, experiment-infer)");
  int64_t B = p.integer("--batch"), S = p.integer("--size"), T = p.integer("--threads"), N = p.integer("--steps"),
          W = p.integer("--warmup");
  MDP_CHECK(B > 0 && S >= 32 && T > 0 && N > 0 && W >= 0, "mdp bench: batch, threads and steps must be positive and "
            "size at least 32");
  std::string precision = p.str("--precision");
  MDP_CHECK(precision == "fp32" || precision == "bf16", "mdp bench: --precision must be fp32 or bf16, got '{}'", precision);
  Device dev = Device::parse(p.str("--device"));
  nn::ProcessGroup& world = nn::init_distributed();  // `mpirun -np N mdp bench`: N data-parallel ranks
  if (world.rank() != 0) std::freopen("/dev/null", "w", stdout);
  MDP_CHECK(world.size() == 1 || wl != "mdp-pretrain", "mdp bench: distributed runs cover the training and inference "
            "workloads of supervised models so far, not {}", wl);
  world.use_device(dev);  // CUDA: NCCL
  set_num_threads(int(T));
  manual_seed(uint64_t(p.integer("--seed")));

  Workload w;
  if (wl == "resnet50-train" || wl == "resnet50-infer") w = classification(wl == "resnet50-train", B, S, dev);
  else if (wl == "deeplabv3-train" || wl == "deeplabv3-infer") w = segmentation(wl == "deeplabv3-train", B, S, dev);
  else if (wl == "mdp-pretrain") w = pretraining(B, S, dev);
  else if (wl == "experiment-train" || wl == "experiment-infer") w = experiment_model(wl == "experiment-train", B, S, dev);
  else throw Error(fmt::format("mdp bench: unknown workload '{}' (resnet50-train, resnet50-infer, deeplabv3-train, "
                               "deeplabv3-infer, mdp-pretrain, experiment-train, experiment-infer)", wl));
  AutocastGuard autocast(precision == "bf16");
  for (int64_t i = 0; i < W; ++i) w.step();
  world.barrier();
  allreduce_seconds = 0;
  phases = {};
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < N; ++i) w.step();
  world.barrier();
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(N);
  const int R = world.size();
  double peak_dev = dev.is_cuda() ? double(allocator_for(dev).stats().peak_bytes) / (1 << 20) : -1;
  std::printf("{\"workload\": \"%s\", \"framework\": \"mdp\", \"device\": \"%s\", \"precision\": \"%s\", \"batch\": %ld, "
              "\"size\": %ld, \"threads\": %ld, \"steps\": %ld, \"ms_per_step\": %.2f, \"images_per_s\": %.3f, "
              "\"peak_rss_mb\": %.1f, \"peak_device_mb\": %s, \"ranks\": %d, \"allreduce_ms_per_step\": %s, \"params\": %ld, "
              "\"forward_flops_per_image\": %ld}\n",
              wl.c_str(), dev.str().c_str(), precision.c_str(), long(B), long(S), long(T), long(N), dt * 1000, double(B * R) / dt,
              peak_rss_mb(), peak_dev < 0 ? "null" : fmt::format("{:.1f}", peak_dev).c_str(), R,
              R > 1 && w.train ? fmt::format("{:.2f}", 1e3 * allreduce_seconds / double(N)).c_str() : "null", long(w.params),
              long(w.forward_flops / B));
  double flops = double(w.forward_flops) * w.passes;
  std::fprintf(stderr, "mdp bench: %.1f GFLOP per step, %.1f GFLOP/s\n", flops / 1e9, flops / 1e9 / dt);
  auto ms = [&](double s) { return 1e3 * s / double(N); };
  if (dev.is_cpu() && wl == "mdp-pretrain")
    std::fprintf(stderr, "mdp bench: per step %.1f ms forward, %.1f ms loss, %.1f ms backward, %.1f ms optimizer, "
                 "%.1f ms key-encoder momentum update, %.1f ms key-encoder forward, %.1f ms bank update\n",
                 ms(phases.forward), ms(phases.loss), ms(phases.backward), ms(phases.optimizer), ms(phases.key_update),
                 ms(phases.key_forward), ms(phases.bank));
  else if (dev.is_cpu() && phases.forward > 0)
    std::fprintf(stderr, "mdp bench: per step %.1f ms forward (with the loss), %.1f ms backward, %.1f ms optimizer\n",
                 ms(phases.forward), ms(phases.backward), ms(phases.optimizer));
  MemoryStats st = allocator_for(Device::cpu()).stats();
  std::fprintf(stderr, "mdp bench: cpu allocator peak %.1f MB in use, %.1f MB cached at the end, %ld of %ld requests from "
               "the cache\n", double(st.peak_bytes) / (1 << 20), double(st.cached_bytes) / (1 << 20), long(st.cache_hits),
               long(st.allocations));
  nn::shutdown_distributed();
  return 0;
}

}  // namespace mdp::apps
