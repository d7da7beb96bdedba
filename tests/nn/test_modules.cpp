// Suite modules: naming and state dicts as PyTorch, train/eval, freezing, dtype moves, ResNet and
// DeepLabV3 shapes and names, summaries, optimizers, schedules, gradient clipping and accumulation,
// checkpoints (strict/non-strict, prefix maps, training state, atomic writes).
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>

#include "nn/checkpoint.h"
#include "nn/deeplabv3.h"
#include "nn/lr_schedule.h"
#include "nn/optimizer.h"
#include "nn/run_state.h"
#include "nn/summary.h"
#include "tensor/tensor_file.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::nn;
using namespace mdp::test;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> names(const NamedTensors& t) {
  std::vector<std::string> r;
  for (auto& [n, x] : t) r.push_back(n);
  return r;
}
bool has(const NamedTensors& t, const std::string& name) {
  for (auto& [n, x] : t) if (n == name) return true;
  return false;
}
fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("mdp_nn_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
ResNetConfig small_resnet(std::array<bool, 3> dil = {false, false, false}) {
  return ResNetConfig{.depth = 18, .replace_stride_with_dilation = dil, .width = 0.25, .num_classes = 10};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(modules)

BOOST_AUTO_TEST_CASE(names_and_order_as_pytorch) {
  Sequential s({std::make_shared<Conv2d>(3, 4, 3), std::make_shared<BatchNorm2d>(4), std::make_shared<ReLU>()});
  BOOST_TEST(names(s.state_dict()) == (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias",
                                                                 "1.running_mean", "1.running_var", "1.num_batches_tracked"}));
  BOOST_TEST(names(s.named_parameters()).size() == 4u);
  ResNet r(ResNetConfig{.depth = 50, .replace_stride_with_dilation = {false, true, true}});
  auto sd = r.state_dict();
  BOOST_TEST(sd.front().first == "conv1.weight");
  BOOST_TEST(has(sd, "layer3.5.bn3.running_var"));
  BOOST_TEST(has(sd, "layer4.0.downsample.0.weight"));
  BOOST_TEST(has(sd, "fc.bias"));
  BOOST_TEST(r.num_parameters() == 25557032);  // torchvision resnet50
  ResNet v1c(ResNetConfig{
      .depth = 50, .replace_stride_with_dilation = {false, true, true}, .deep_stem = true, .include_top = false});
  BOOST_TEST(has(v1c.state_dict(), "stem.0.weight"));
  BOOST_TEST(has(v1c.state_dict(), "stem.7.running_mean"));
  BOOST_TEST(!has(v1c.state_dict(), "fc.weight"));
}

BOOST_AUTO_TEST_CASE(deeplab_layouts) {
  DeepLabV3 tv(DeepLabV3Config{
      .layout = SegLayout::Torchvision,
      .backbone = ResNetConfig{.depth = 50, .replace_stride_with_dilation = {false, true, true}, .include_top = false},
      .num_classes = 21,
      .aux_head = true,
      .channels = -1});
  auto sd = tv.state_dict();
  for (const char* n : {"backbone.layer4.2.conv3.weight", "classifier.0.convs.0.0.weight", "classifier.0.convs.3.1.running_mean",
                        "classifier.0.convs.4.1.weight", "classifier.0.project.0.weight", "classifier.4.bias",
                        "aux_classifier.0.weight", "aux_classifier.4.weight"})
    BOOST_TEST(has(sd, n), n);
  BOOST_TEST(tv.num_parameters() == 42004074);  // torchvision deeplabv3_resnet50(num_classes=21, aux_loss=True)
  DeepLabV3 mm(DeepLabV3Config{
      .layout = SegLayout::MMSeg,
      .backbone = ResNetConfig{.depth = 50, .replace_stride_with_dilation = {false, true, true}, .include_top = false},
      .num_classes = 150,
      .aux_head = true,
      .channels = -1});
  for (const char* n : {"decode_head.image_pool.1.conv.weight", "decode_head.aspp_modules.0.conv.weight",
                        "decode_head.aspp_modules.3.bn.running_var", "decode_head.bottleneck.conv.weight",
                        "decode_head.conv_seg.weight", "auxiliary_head.convs.0.conv.weight", "auxiliary_head.conv_seg.bias"})
    BOOST_TEST(has(mm.state_dict(), n), n);
  // shapes: small backbone, output at the input size, stride 8 features
  DeepLabV3 small(DeepLabV3Config{
      .layout = SegLayout::MMSeg,
      .backbone =
          ResNetConfig{
              .depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.25, .include_top = false},
      .num_classes = 5,
      .aux_head = true,
      .channels = 32});
  small.eval();
  NoGradGuard ng;
  SegOutputs o = small.forward_all(test::randn({2, 3, 40, 48}));
  BOOST_TEST(o.out.shape() == (Shape{2, 5, 40, 48}));
  BOOST_TEST(o.aux.shape() == (Shape{2, 5, 40, 48}));
  BOOST_TEST(small.backbone().forward_features(test::randn({1, 3, 64, 64}))["layer4"].shape() == (Shape{1, 128, 8, 8}));
}

BOOST_AUTO_TEST_CASE(output_stride_by_dilation) {
  NoGradGuard ng;
  Tensor x = test::randn({1, 3, 64, 64});
  for (auto [dil, side] : {std::pair<std::array<bool, 3>, int64_t>{{false, false, false}, 2}, {{false, false, true}, 4},
                           {{false, true, true}, 8}}) {
    ResNet r(small_resnet(dil));
    BOOST_TEST(r.forward_features(x)["layer4"].size(2) == side);
  }
}

BOOST_AUTO_TEST_CASE(train_eval_freeze_dtype) {
  ResNet r(small_resnet());
  r.eval();
  for (auto& [n, m] : r.named_modules()) BOOST_TEST(!m->is_training());
  r.train();
  BOOST_TEST(r.child("layer1")->is_training());
  Tensor w = r.state_dict().front().second;
  r.set_frozen(true);
  BOOST_TEST(r.num_parameters(true) == 0);
  r.set_frozen(false);
  r.to(DType::Float64);
  BOOST_TEST(w.dtype() == DType::Float64);  // the same handle sees the move
  bool int_kept = false;
  for (auto& [n, t] : r.state_dict()) if (n == "bn1.num_batches_tracked") int_kept = t.dtype() == DType::Int64;
  BOOST_TEST(int_kept);
  BOOST_TEST(throws_with([&] { ResNet bad(ResNetConfig{.depth = 42}); }, {"depth 42"}));
  Conv2d c(3, 4, 3);
  BOOST_TEST(throws_with([&] { c(test::randn({1, 5, 8, 8})); }, {"Conv2d(3 -> 4)", "[1, 5, 8, 8]"}));
}

// The option structs keep torch.nn's defaults: MaxPool2d's stride is its kernel size unless given.
BOOST_AUTO_TEST_CASE(layer_options_follow_torch_defaults) {
  MaxPool2d p2(MaxPool2dOptions{.kernel = 2}), p3(MaxPool2dOptions{.kernel = 3, .stride = 2, .padding = 1});
  BOOST_TEST(p2(test::randn({1, 1, 8, 8})).shape() == (Shape{1, 1, 4, 4}));
  BOOST_TEST(p3(test::randn({1, 1, 8, 8})).shape() == (Shape{1, 1, 4, 4}));
  BOOST_TEST(throws_with([] { MaxPool2d bad(MaxPool2dOptions{.kernel = 0}); }, {"MaxPool2d", "kernel 0"}));
  Conv2d c(Conv2dOptions{.in = 4, .out = 6, .kernel = 3, .stride = 2, .padding = 1, .groups = 2, .bias = false});
  BOOST_TEST(!c.bias.defined());
  BOOST_TEST(c.weight.shape() == (Shape{6, 2, 3, 3}));
  BOOST_TEST(c(test::randn({1, 4, 8, 8})).shape() == (Shape{1, 6, 4, 4}));
  BOOST_TEST(throws_with([] { Conv2d bad(Conv2dOptions{.in = 4, .out = 6, .kernel = 3, .stride = 0}); }, {"Conv2d", "stride 0"}));
  BatchNorm2d bn(3, {.affine = false});
  BOOST_TEST(!bn.weight.defined());
}

BOOST_AUTO_TEST_CASE(torchvision_initialisation) {
  manual_seed(3);
  ResNet r(ResNetConfig{.depth = 50});
  for (auto& [n, t] : r.named_parameters()) {
    if (n == "layer4.0.conv2.weight") {  // kaiming normal, fan_out = 512 * 3 * 3
      double sd = std::sqrt(ops::var(ops::flatten(t), {0}).item());
      BOOST_TEST(std::fabs(sd / std::sqrt(2.0 / (512 * 9)) - 1) < 0.02);
    }
    if (n == "layer4.0.bn2.weight") BOOST_TEST(ops::mean(t).item() == 1.0);
    if (n == "layer4.0.bn2.bias") BOOST_TEST(ops::mean(t).item() == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(batchnorm_updates_running_stats_only_in_training) {
  BatchNorm2d bn(3);
  Tensor x = test::randn({4, 3, 5, 5});
  bn.eval();
  bn(x);
  BOOST_TEST(ops::to_vector(bn.running_mean) == (std::vector<double>{0, 0, 0}));
  bn.train();
  bn(x);
  BOOST_TEST(bn.running_mean.at({0}) != 0.0);
  BOOST_TEST(bn.num_batches_tracked.item() == 1);
}

// Sequential runs BatchNorm2d + ReLU as one fused op: the same output, gradients and running statistics
// as conv -> batch_norm -> relu called one by one, and the summary still lists both layers.
BOOST_AUTO_TEST_CASE(sequential_fuses_batchnorm_relu) {
  auto conv = std::make_shared<Conv2d>(Conv2dOptions{.in = 3, .out = 4, .kernel = 3, .padding = 1, .bias = false});
  auto bn = std::make_shared<BatchNorm2d>(4);
  Sequential s({conv, bn, std::make_shared<ReLU>()});
  Tensor x = test::randn({2, 3, 6, 6});
  Tensor y = s(x);
  Tensor fused_mean = ops::clone(bn->running_mean);
  backward(sum(mul(y, test::randn(y.shape(), DType::Float32, 7))));
  Tensor gw = ops::clone(conv->weight.grad()), gbn = ops::clone(bn->weight.grad());
  s.zero_grad();
  ops::fill_(bn->running_mean, 0);
  ops::fill_(bn->running_var, 1);
  Tensor y2 = relu(batch_norm(conv2d(x, conv->weight, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1}), bn->weight, bn->bias,
                              bn->running_mean, bn->running_var, true));
  backward(sum(mul(y2, test::randn(y.shape(), DType::Float32, 7))));
  close(y, y2, 1e-6, 1e-5, "output");
  close(fused_mean, bn->running_mean, 1e-7, 1e-6, "running mean");
  close(gw, conv->weight.grad(), 1e-5, 1e-4, "conv weight grad");
  close(gbn, bn->weight.grad(), 1e-5, 1e-4, "bn weight grad");
  ModelSummary sum_ = summarize(s, {2, 3, 6, 6});
  std::string t = sum_.table(sum_.param_bytes);
  BOOST_TEST(t.find("BatchNorm2d") != std::string::npos);
  BOOST_TEST(t.find("ReLU") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(summary_table) {
  ResNet r(ResNetConfig{.depth = 50});
  ModelSummary s = summarize(r, {1, 3, 224, 224});
  BOOST_TEST(s.total_params == 25557032);
  BOOST_TEST(std::fabs(double(s.total_flops) / 8.18e9 - 1) < 0.03);  // ~4.1 GMACs, as commonly quoted
  std::string t = s.table(s.param_bytes);
  BOOST_TEST(t.find("layer4.2.conv3") != std::string::npos);
  BOOST_TEST(t.find("[1, 1000]") != std::string::npos);
  BOOST_TEST(t.find("optimizer state") != std::string::npos);
  // Every batch norm has its row, also those the blocks call through forward_relu (fused with ReLU and the
  // residual add), so that their FLOPs count: 53 in ResNet-50.
  int64_t bn_modules = 0, bn_rows = 0;
  for (auto& [name, m] : r.named_modules()) bn_modules += dynamic_cast<BatchNorm2d*>(m) != nullptr;
  for (auto& row : s.rows) bn_rows += row.type == "BatchNorm2d";
  BOOST_TEST(bn_modules == 53);
  BOOST_TEST(bn_rows == bn_modules);
}

BOOST_AUTO_TEST_CASE(sgd_and_adamw_follow_pytorch_formulas) {
  Linear l(3, 2);
  Tensor w0 = ops::clone(l.weight);
  SGD sgd(make_param_groups(l), {0.1, 0.9, 0, 0.01, false});
  for (int step = 0; step < 2; ++step) {
    sgd.zero_grad();
    backward(sum(l(ops::ones({1, 3}))));  // dL/dw = 1 everywhere
  sgd.step();
  }
  // step 1: d = 1 + 0.01 w0; buf = d; w1 = w0 - 0.1 d.  step 2: d2 = 1 + 0.01 w1; buf = 0.9 d + d2; w2 = w1 - 0.1 buf
  double a = w0.at({0, 0}), d = 1 + 0.01 * a, w1 = a - 0.1 * d, d2 = 1 + 0.01 * w1, w2 = w1 - 0.1 * (0.9 * d + d2);
  BOOST_TEST(std::fabs(l.weight.at({0, 0}) - w2) < 1e-6);
  BOOST_TEST(sgd.state().size() == 2u);

  Linear m(3, 2);
  Tensor m0 = ops::clone(m.weight);
  AdamW adam(make_param_groups(m), {0.01, 0.9, 0.999, 1e-8, 0.1});
  adam.zero_grad();
  backward(sum(m(ops::ones({1, 3}))));
  adam.step();
  // first step: m = 0.1, v = 0.001, mhat = 1, vhat = 1: p = p (1 - lr wd) - lr * 1 / (1 + eps)
  double expect = m0.at({0, 0}) * (1 - 0.01 * 0.1) - 0.01 / (1 + 1e-8);
  BOOST_TEST(std::fabs(m.weight.at({0, 0}) - expect) < 1e-6);
}

// A run whose optimizer is rebuilt from state() halfway continues exactly as one that never stopped; for
// AdamW that needs the step count (the bias correction), which an older state() left out.
BOOST_AUTO_TEST_CASE(optimizer_state_resumes_exactly) {
  for (bool use_adam : {false, true}) {
    BOOST_TEST_CONTEXT((use_adam ? "adamw" : "sgd")) {
      auto make = [&](Linear& l) -> std::unique_ptr<Optimizer> {
        if (use_adam) return std::make_unique<AdamW>(make_param_groups(l), AdamWOptions{.lr = 0.01, .weight_decay = 0.1});
        return std::make_unique<SGD>(make_param_groups(l), SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
      };
      auto steps = [](Linear& l, Optimizer& o, int from, int to) {
        for (int i = from; i < to; ++i) {
          o.zero_grad();
          Tensor x = ops::full({1, 3}, 0.1 * double(i + 1));
          backward(sum(mul(l(x), l(x))));
          o.step();
        }
      };
      manual_seed(1);
      Linear whole(3, 2);
      auto o1 = make(whole);
      steps(whole, *o1, 0, 5);

      manual_seed(1);
      Linear first(3, 2);
      auto o2 = make(first);
      steps(first, *o2, 0, 2);
      Linear second(3, 2);
      ops::copy_(second.weight, first.weight);
      ops::copy_(second.bias, first.bias);
      auto o3 = make(second);
      o3->load_state(o2->state());
      steps(second, *o3, 2, 5);
      BOOST_TEST(ops::to_vector(second.weight) == ops::to_vector(whole.weight), boost::test_tools::per_element());
      BOOST_TEST(ops::to_vector(second.bias) == ops::to_vector(whole.bias), boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(param_groups_and_clipping) {
  DeepLabV3 d(DeepLabV3Config{
      .layout = SegLayout::MMSeg,
      .backbone =
          ResNetConfig{
              .depth = 18, .replace_stride_with_dilation = {false, true, true}, .width = 0.25, .include_top = false},
      .num_classes = 5,
      .aux_head = false,
      .channels = 16});
  ParamGroupRules rules{true, {"decode_head."}, 10.0};
  auto groups = make_param_groups(d, rules);
  BOOST_TEST(groups.size() == 4u);
  for (auto& g : groups)
    for (auto& [n, t] : g.params) {
      bool head = n.rfind("decode_head.", 0) == 0;
      BOOST_TEST(g.lr_mult == (head ? 10.0 : 1.0), n);
      BOOST_TEST((g.weight_decay == 0.0) == (t.dim() == 1), n);
    }
  Tensor p = ops::ones({4});
  p.set_requires_grad(true);
  p.set_grad(ops::full({4}, 3.0));  // norm 6
  BOOST_TEST(std::fabs(clip_grad_norm({p}, 1.5) - 6.0) < 1e-9);
  BOOST_TEST(std::fabs(p.grad().at({0}) - 0.75) < 1e-5);
}

BOOST_AUTO_TEST_CASE(gradient_accumulation_equals_full_batch) {
  Linear l(4, 3);
  Tensor x = test::randn({6, 4});
  backward(mean(l(x)));
  Tensor full = ops::clone(l.weight.grad());
  l.zero_grad();
  for (int64_t i = 0; i < 2; ++i) backward(mul(mean(l(ops::narrow(x, 0, 3 * i, 3))), 0.5));
  close(l.weight.grad(), full, 1e-6, 1e-5, "accumulated gradient");
}

BOOST_AUTO_TEST_CASE(lr_schedules_as_mmseg) {
  LrScheduleConfig c;
  c.base_lr = 0.01;
  c.min_lr = 1e-4;
  c.power = 0.9;
  c.max_iters = 1000;
  LrSchedule poly(c);
  BOOST_TEST(poly.at(0) == 0.01);
  BOOST_TEST(std::fabs(poly.at(500) - ((0.01 - 1e-4) * std::pow(0.5, 0.9) + 1e-4)) < 1e-12);
  BOOST_TEST(std::fabs(poly.at(1000) - 1e-4) < 1e-12);
  c.warmup_iters = 100;
  c.warmup_ratio = 0.1;
  LrSchedule warm(c);
  BOOST_TEST(std::fabs(warm.at(0) - 0.01 * 0.1) < 1e-12);
  BOOST_TEST(std::fabs(warm.at(50) - poly.at(50) * (1 - 0.5 * 0.9)) < 1e-12);
  BOOST_TEST(warm.at(100) == poly.at(100));
  c = {};
  c.policy = "step";
  c.steps = {10, 20};
  BOOST_TEST(std::fabs(LrSchedule(c).at(25) - 0.01 * 0.01) < 1e-12);
  c.policy = "cosine";
  c.min_lr = 0;
  BOOST_TEST(std::fabs(LrSchedule(c).at(500) - 0.005) < 1e-12);
  c.policy = "polynomial";
  BOOST_TEST(throws_with([&] { LrSchedule s(c); }, {"unknown policy 'polynomial'"}));
}

BOOST_AUTO_TEST_CASE(weights_round_trip_and_strict_errors) {
  fs::path dir = temp_dir();
  std::string path = (dir / "r.safetensors").string();
  ResNet a(small_resnet()), b(small_resnet());
  save_weights(path, a);
  LoadReport r = load_weights(b, path);
  BOOST_TEST(r.loaded.size() == a.state_dict().size());
  for (size_t i = 0; i < a.state_dict().size(); ++i)
    BOOST_TEST(ops::to_vector(a.state_dict()[i].second) == ops::to_vector(b.state_dict()[i].second));
  for (auto& e : fs::directory_iterator(dir)) BOOST_TEST(e.path().string().find(".tmp") == std::string::npos);

  ResNet other(ResNetConfig{.depth = 18, .width = 0.25, .num_classes = 7});  // fc differs
  BOOST_TEST(throws_with([&] { load_weights(other, path); }, {"does not fit", "shape mismatch", "fc.weight", "[10, 128]", "[7, 128]"}));
  LoadReport lenient = load_weights(other, path, {false, "", {}, {}});
  BOOST_TEST(lenient.shape_mismatch.size() == 2u);
  BOOST_TEST(lenient.loaded.size() == other.state_dict().size() - 2);

  // a bare backbone file loads into DeepLabV3's backbone through a prefix map
  DeepLabV3 d(DeepLabV3Config{
      .layout = SegLayout::MMSeg, .backbone = small_resnet({false, true, true}), .num_classes = 5, .channels = 16});
  LoadReport pr = load_weights(d, path, {false, "", {{"", "backbone."}}, {"backbone."}});
  BOOST_TEST(pr.missing.empty());
  BOOST_TEST(pr.unexpected.size() == 2u);  // fc.weight, fc.bias
  BOOST_TEST(throws_with([&] { load_weights(d, (dir / "none.safetensors").string()); }, {"none.safetensors", "does not exist"}));
  // a failed write leaves the previous file intact
  BOOST_TEST(throws_with([&] { save_weights((dir / "no_such_dir" / "x.safetensors").string(), a); }, {"no_such_dir"}));
  BOOST_TEST(load_weights(b, path).loaded.size() == a.state_dict().size());
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(run_state_round_trip) {
  fs::path dir = temp_dir();
  std::string path = (dir / "state.safetensors").string();
  Linear l(3, 2);
  SGD sgd(make_param_groups(l), {0.1, 0.9, 0, 0, false});
  backward(sum(l(ops::ones({2, 3}))));
  sgd.step();
  Generator g(7), mix(8);
  g.normal();  // leaves a cached normal, which the state must keep
  RunState s;
  s.command = "pretrain";
  s.step = 42;
  s.weights = "iter_42.safetensors";
  s.key_weights = "iter_42.key.safetensors";
  s.method = "mdp";
  s.config = "a: 1\nb: [2, 3]\n";
  s.data = {3, 16, 1};
  s.optimizer = sgd.state();
  s.bank = {{"bank.prototypes", ops::ones({2, 4})}};
  s.rng = {{"default", g.state()}, {"mix", mix.state()}};
  s.world_size = 2;
  save_run_state(path, s);
  RunState t = load_run_state(path);
  BOOST_TEST(t.command == "pretrain");
  BOOST_TEST(t.step == 42);
  BOOST_TEST(t.world_size == 2);
  BOOST_TEST(t.weights == s.weights);
  BOOST_TEST(t.key_weights == s.key_weights);
  BOOST_TEST(t.method == "mdp");
  BOOST_TEST(t.config == s.config);
  BOOST_TEST((t.data.epoch == 3 && t.data.index == 16 && t.data.stage == 1));
  BOOST_TEST(t.bank.size() == 1u);
  BOOST_TEST(t.bank[0].first == "bank.prototypes");
  BOOST_TEST(t.rng.size() == 2u);
  Generator h, m2;
  h.set_state(t.rng.at("default"));
  m2.set_state(t.rng.at("mix"));
  BOOST_TEST(h.normal() == g.normal());
  BOOST_TEST(m2.uniform() == mix.uniform());
  SGD sgd2(make_param_groups(l), {0.1, 0.9, 0, 0, false});
  sgd2.load_state(t.optimizer);
  BOOST_TEST(ops::to_vector(sgd2.state()[0].second) == ops::to_vector(sgd.state()[0].second));

  // Errors name the file and the problem.
  std::string wpath = (dir / "w.safetensors").string();
  save_weights(wpath, l);
  BOOST_TEST(throws_with([&] { load_run_state(wpath); }, {"w.safetensors", "not a training state"}));
  BOOST_TEST(throws_with([&] { load_run_state((dir / "none.safetensors").string()); }, {"none.safetensors", "does not exist"}));
  auto broken = [&](const std::string& key, const std::string& value) {
    TensorFile f = load_tensor_file(path);
    if (value.empty()) f.metadata.erase(key);
    else f.metadata[key] = value;
    std::string p2 = (dir / "broken.safetensors").string();
    save_tensor_file(p2, f);
    return p2;
  };
  BOOST_TEST(throws_with([&] { load_run_state(broken("version", "9")); }, {"version 9"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("step", "-3")); }, {"'step' is '-3', not a count"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("data.index", "12x")); }, {"'data.index' is '12x'"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("rng.default", "1,2,3")); }, {"'rng.default' is not a generator state"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("rng.mix", "1,2,3,x,0,0")); }, {"'rng.mix' word 3 is 'x'"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("command", "eval")); }, {"command 'eval'"}));
  BOOST_TEST(throws_with([&] { load_run_state(broken("weights", "")); }, {"no 'weights' entry"}));
  fs::remove_all(dir);
}

// A state written by mdp before the typed run state (version 1: string extras, the bank among the
// optimizer's tensors, four-word generator states) is read and converted.
BOOST_AUTO_TEST_CASE(run_state_reads_version_1) {
  fs::path dir = temp_dir();
  std::string path = (dir / "v1.safetensors").string();
  TensorFile f;
  f.tensors["optimizer.w.momentum_buffer"] = ops::ones({2});
  f.tensors["optimizer.bank.filled"] = ops::ones({3});
  f.metadata = {{"format", "mdp-training-state"}, {"version", "1"}, {"step", "7"}, {"rng", "1,2,3,4,1,0x1.8p+0"},
                {"weights", "iter_7.safetensors"}, {"key_weights", "iter_7.key.safetensors"}, {"method", "mdp"},
                {"data.epoch", "2"}, {"data.index", "8"}, {"data.stage", "0"}, {"mix_rng", "5,6,7,8"},
                {"sample_rng", "9,10,11,12"}, {"config", "x: 1"}};
  save_tensor_file(path, f);
  RunState s = load_run_state(path);
  BOOST_TEST(s.command == "pretrain");
  BOOST_TEST(s.step == 7);
  BOOST_TEST(s.optimizer.size() == 1u);
  BOOST_TEST(s.optimizer[0].first == "w.momentum_buffer");
  BOOST_TEST(s.bank.size() == 1u);
  BOOST_TEST(s.bank[0].first == "bank.filled");
  BOOST_TEST(s.rng.at("default").s[3] == 4u);
  BOOST_TEST(s.rng.at("default").has_cached_normal);
  BOOST_TEST(s.rng.at("default").cached_normal == 1.5);
  BOOST_TEST(s.rng.at("mix").s[0] == 5u);
  BOOST_TEST(s.rng.at("sample").s[3] == 12u);
  BOOST_TEST((s.data.epoch == 2 && s.data.index == 8));
  f.metadata.erase("method");
  f.metadata.erase("mix_rng");
  save_tensor_file(path, f);
  BOOST_TEST(load_run_state(path).command == "train");
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
