// pretrain.cpp: one MDP iteration (mdp-method.md §9), top to bottom:
//   batch over the concatenated label space -> cross-dataset mixing -> query network -> labels
//   nearest-downsampled to stride 8 -> pixel-to-prototype loss + sparse coding -> backward -> SGD ->
//   momentum update of the key network -> key embeddings of the same batch -> prototype bank update.
// Checkpoints hold the query and key networks and the bank (resume), plus backbone.safetensors: the
// query backbone alone in torchvision naming, which `mdp train` starts from (model.pretrained).
#include "apps/pretrain.h"

#include <omp.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "apps/cli.h"
#include "apps/common.h"
#include "apps/plot.h"
#include "apps/progress.h"
#include "data/label_space.h"
#include "data/loader.h"
#include "mdp/mdp_net.h"
#include "mdp/mixing.h"
#include "mdp/proto_loss.h"
#include "mdp/prototype_bank.h"
#include "nn/checkpoint.h"
#include "nn/lr_schedule.h"
#include "nn/optimizer.h"
#include "nn/summary.h"
#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tensor/tensor_file.h"

namespace mdp::apps {
namespace fs = std::filesystem;

namespace {
std::vector<Key> pretrain_schema() {
  std::vector<Key> k;
  for (auto& x : data_keys())
    if (x.name != "data.dataset" && x.name != "data.root" && x.name != "data.domain" && x.name != "data.val_split" &&
        x.name != "data.repeat")
      k.push_back(x);
  std::vector<Key> more = {
      {"data.datasets", Type::StringList, "[\"generated:shapes_a\", \"generated:shapes_b\"]",
       "datasets to concatenate: voc | ade20k | cityscapes | coco-stuff | folder | generated:<domain>"},
      {"data.roots", Type::StringList, "[]", "their roots (generated: one root for all; empty = <work-dir>/data)"},
      {"data.splits", Type::StringList, "[]", "their training splits (empty: data.train_split for all)"},
      {"data.weights", Type::FloatList, "[]", "sampling weight of each dataset (empty: in proportion to size)"},
      {"model.depth", Type::Int, "50", "ResNet depth: 18, 34, 50, 101"},
      {"model.width", Type::Float, "1.0", "ResNet width multiplier"},
      {"model.deep_stem", Type::Bool, "false", "v1c deep stem"},
      {"model.pretrained", Type::String, "", "initial backbone weights (the two-stage ImageNet -> MDP variant)"},
      {"mdp.dim", Type::Int, "256", "embedding dimension D"},
      {"mdp.tau", Type::Float, "0.07", "temperature"},
      {"mdp.sparse_coding", Type::String, "pull", "pull (setting 2) | exclude (setting 1) | none"},
      {"mdp.k", Type::Int, "5", "sparse coding: top-k prototypes"},
      {"mdp.lambda_sc", Type::Float, "0.1", "sparse coding loss weight (pull)"},
      {"mdp.other_datasets_only", Type::Bool, "false", "sparse coding among other datasets' prototypes only"},
      {"mdp.bank", Type::String, "queue", "prototype bank: queue (two-step average) | ema"},
      {"mdp.queue_length", Type::Int, "4096", "per-class queue length N"},
      {"mdp.ema_momentum", Type::Float, "0.99", "prototype EMA momentum (bank ema)"},
      {"mdp.key_momentum", Type::Float, "0.999", "momentum encoder m"},
      {"mdp.region_mix", Type::Float, "0.25", "probability of region-level (CutMix) mixing per sample"},
      {"mdp.pixel_mix", Type::Float, "0.25", "probability of pixel-level (ClassMix) mixing per sample"},
      {"mdp.blend", Type::Bool, "false", "pixel mixing as blended intermediate classes (soft targets)"},
      {"train.batch", Type::Int, "16", "images per iteration"},
      {"train.iters", Type::Int, "10000", "iterations"},
      {"train.lr", Type::Float, "0.01", "base learning rate"},
      {"train.momentum", Type::Float, "0.9", "SGD momentum"},
      {"train.weight_decay", Type::Float, "0.0005", "weight decay"},
      {"train.power", Type::Float, "0.9", "poly power"},
      {"train.min_lr", Type::Float, "0.0001", "final rate"},
      {"train.warmup_iters", Type::Int, "0", "linear warmup iterations"},
      {"train.log_interval", Type::Int, "50", "iterations between log lines"},
      {"train.checkpoint_interval", Type::Int, "1000", "iterations between checkpoints"},
      {"train.seed", Type::Int, "0", "random seed"},
      {"train.device", Type::String, "cpu", "cpu | cuda | cuda:N"},
      {"train.threads", Type::Int, "2", "CPU threads"},
  };
  k.insert(k.end(), more.begin(), more.end());
  return k;
}

// Mean cosine between filled prototypes of the same dataset and of different datasets.
std::pair<double, double> prototype_cosines(const PrototypeBank& bank, const data::LabelSpace& ls) {
  std::vector<double> p = ops::to_vector(bank.prototypes()), f = ops::to_vector(bank.filled());
  int64_t C = bank.options().num_classes, D = bank.options().dim;
  double within = 0, across = 0;
  int64_t nw = 0, na = 0;
  for (int64_t i = 0; i < C; ++i)
    for (int64_t j = i + 1; j < C; ++j) {
      if (!f[size_t(i)] || !f[size_t(j)]) continue;
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += p[size_t(i * D + d)] * p[size_t(j * D + d)];
      if (ls.local_id(int(i)).first == ls.local_id(int(j)).first) { within += dot; ++nw; }
      else { across += dot; ++na; }
    }
  return {nw ? within / double(nw) : NAN, na ? across / double(na) : NAN};
}

void write_similarity_plot(const std::string& path, const PrototypeBank& bank, const data::LabelSpace& ls) {
  std::vector<double> p = ops::to_vector(bank.prototypes()), f = ops::to_vector(bank.filled());
  int64_t C = bank.options().num_classes, D = bank.options().dim;
  std::vector<std::vector<double>> m(size_t(C), std::vector<double>(size_t(C), 0.0));
  for (int64_t i = 0; i < C; ++i)
    for (int64_t j = 0; j < C; ++j) {
      if (!f[size_t(i)] || !f[size_t(j)]) continue;
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += p[size_t(i * D + d)] * p[size_t(j * D + d)];
      m[size_t(i)][size_t(j)] = dot;
    }
  std::vector<int> groups;
  for (int d = 1; d < ls.num_datasets(); ++d) groups.push_back(ls.offset(d));
  write_heatmap(path, "cosine similarity of the class prototypes, grouped by dataset", m, ls.class_names(), groups);
}
}  // namespace

int pretrain_main(int argc, char** argv) {
  Config c(pretrain_schema());
  RunSetup run;
  if (!setup_run("pretrain", "Multi-Dataset Pretraining: pixel-to-prototype contrast over concatenated label spaces.", "work_dirs/pretrain", argc, argv, c, run)) return 0;
  const std::string work = run.work;
  const bool resume = run.resume;
  const nn::TrainingState& resumed = run.resumed;
  prepare_work_dir(work);
  write_text_atomically((fs::path(work) / "config.yaml").string(), c.yaml());
  omp_set_num_threads(int(c.i("train.threads")));
  Device dev = Device::parse(c.s("train.device"));
  manual_seed(uint64_t(c.i("train.seed")));

  // The concatenated label space.
  auto names = c.sl("data.datasets"), roots = c.sl("data.roots"), splits = c.sl("data.splits");
  auto weights = c.fl("data.weights");
  MDP_CHECK(!names.empty(), "config: data.datasets is empty");
  MDP_CHECK(roots.empty() || roots.size() == names.size() || roots.size() == 1,
            "config: data.roots has {} entries for {} datasets", roots.size(), names.size());
  MDP_CHECK(splits.empty() || splits.size() == names.size(), "config: data.splits has {} entries for {} datasets", splits.size(),
            names.size());
  MDP_CHECK(weights.empty() || weights.size() == names.size(), "config: data.weights has {} entries for {} datasets",
            weights.size(), names.size());
  std::vector<data::LabelSpaceMember> members;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string kind = names[i], domain;
    if (kind.rfind("generated:", 0) == 0) {
      domain = kind.substr(10);
      kind = "generated";
    }
    std::string root = roots.empty() ? (fs::path(work) / "data").string() : roots[roots.size() == 1 ? 0 : i];
    std::string split = splits.empty() ? c.s("data.train_split") : splits[i];
    auto ds = open_dataset(kind, root, split, domain, uint64_t(c.i("data.seed")), c.il("data.generated_size"),
                           c.il("data.generated_images"));
    double w = weights.empty() ? double(ds->size()) : weights[i];
    members.push_back({ds, w, kind == "generated" ? domain : ""});
  }
  auto ls = std::make_shared<data::LabelSpace>(members);
  const int64_t C = ls->num_classes();
  std::vector<int64_t> class_dataset(static_cast<size_t>(C));
  for (int64_t g = 0; g < C; ++g) class_dataset[size_t(g)] = ls->local_id(int(g)).first;

  MDPNetConfig mc{nn::ResNetConfig{int(c.i("model.depth")), {false, true, true}, c.b("model.deep_stem"), c.f("model.width"), 1000,
                                   false},
                  c.i("mdp.dim")};
  MDPNet q(mc), k(mc);
  if (!c.s("model.pretrained").empty() && !resume) load_pretrained_backbone(q, c.s("model.pretrained"));
  copy_weights(k, q);
  k.set_frozen(true);
  q.to(dev);
  k.to(dev);
  q.train();
  k.train();
  nn::SGD opt(nn::make_param_groups(q), {c.f("train.lr"), c.f("train.momentum"), 0, c.f("train.weight_decay"), false});
  nn::LrScheduleConfig sc;
  sc.base_lr = c.f("train.lr");
  sc.min_lr = c.f("train.min_lr");
  sc.power = c.f("train.power");
  sc.max_iters = c.i("train.iters");
  sc.warmup_iters = c.i("train.warmup_iters");
  nn::LrSchedule schedule(sc);
  PrototypeBank bank({C, c.i("mdp.dim"), c.s("mdp.bank"), c.i("mdp.queue_length"), c.f("mdp.ema_momentum")}, dev);
  ProtoLossOptions lo;
  lo.tau = c.f("mdp.tau");
  std::string scm = c.s("mdp.sparse_coding");
  MDP_CHECK(scm == "pull" || scm == "exclude" || scm == "none", "config: mdp.sparse_coding '{}' is not pull, exclude or none", scm);
  lo.sparse_coding = scm == "pull" ? SparseCoding::Pull : scm == "exclude" ? SparseCoding::Exclude : SparseCoding::None;
  lo.k = c.i("mdp.k");
  lo.lambda_sc = c.f("mdp.lambda_sc");
  lo.other_datasets_only = c.b("mdp.other_datasets_only");
  lo.ignore_index = ls->ignore_index();
  MixOptions mix{c.f("mdp.region_mix"), c.f("mdp.pixel_mix"), c.b("mdp.blend"), ls->ignore_index()};

  data::LoaderOptions lopt;
  lopt.batch_size = int(c.i("train.batch"));
  lopt.num_workers = int(c.i("data.workers"));
  lopt.seed = uint64_t(c.i("train.seed"));
  lopt.sample_weights = ls->sample_weights();
  data::Loader loader(ls, train_pipeline_of(c), lopt);
  Generator mix_gen(uint64_t(c.i("train.seed")) + 1);

  int64_t start = 0;
  if (resume) {
    nn::load_weights(q, (fs::path(work) / resumed.extra.at("weights")).string());
    nn::load_weights(k, (fs::path(work) / resumed.extra.at("key_weights")).string());
    nn::NamedTensors opt_state, bank_state;
    for (auto& [n, t] : resumed.optimizer) (n.rfind("bank.", 0) == 0 ? bank_state : opt_state).emplace_back(n, t);
    opt.load_state(opt_state);
    bank.load_state(bank_state);
    default_generator().set_state(resumed.rng);
    Generator::State ms{};
    std::stringstream ss(resumed.extra.at("mix_rng"));
    std::string item;
    for (int i = 0; i < 4 && std::getline(ss, item, ','); ++i) ms.s[size_t(i)] = std::stoull(item);
    mix_gen.set_state(ms);
    loader.seek({std::stoll(resumed.extra.at("data.epoch")), std::stoll(resumed.extra.at("data.index"))});
    start = resumed.step;
    std::printf("resumed at iteration %ld\n", long(start));
  }

  nn::ModelSummary summary = nn::summarize(q, {1, 3, c.il("data.crop")[0], c.il("data.crop")[1]});
  std::printf("mdp pretrain: %d datasets, %ld classes (ignore %d), %ld images; ResNet-%ld width %.2f at stride 8, D = %ld\n",
              ls->num_datasets(), long(C), ls->ignore_index(), long(ls->size()), long(c.i("model.depth")), c.f("model.width"),
              long(c.i("mdp.dim")));
  for (int d = 0; d < ls->num_datasets(); ++d)
    std::printf("  %-14s classes %4d..%-4d  %6ld images  weight %.3g\n", ls->prefix(d).c_str(), ls->offset(d),
                ls->offset(d) + ls->dataset(d).num_classes() - 1, long(ls->dataset(d).size()), ls->weight(d));
  std::printf("memory: parameters %.1f MiB (query) + %.1f MiB (key), gradients %.1f MiB, momentum %.1f MiB\n",
              double(summary.param_bytes) / (1 << 20), double(summary.param_bytes) / (1 << 20),
              double(summary.grad_bytes) / (1 << 20), double(summary.grad_bytes) / (1 << 20));

  std::string log = (fs::path(work) / "log.jsonl").string();
  install_stop_signals();
  int64_t iters = c.i("train.iters"), ckpt_every = c.i("train.checkpoint_interval");
  Progress progress(iters, start, c.i("train.log_interval"));
  std::vector<double> xs, lp, ls_sc, filled_n;
  data::Batch batch;
  auto save = [&](int64_t it) {
    std::string wq = fmt::format("iter_{}.safetensors", it), wk = fmt::format("iter_{}.key.safetensors", it);
    nn::save_weights((fs::path(work) / wq).string(), q, {{"iter", std::to_string(it)}});
    nn::save_weights((fs::path(work) / wk).string(), k, {{"iter", std::to_string(it)}});
    TensorFile bb;  // the query backbone in torchvision naming, for mdp train's model.pretrained
    for (auto& [n, t] : q.backbone().state_dict()) bb.tensors[n] = t;
    bb.metadata = {{"format", "mdp-weights"}, {"source", "mdp pretrain"}, {"iter", std::to_string(it)}};
    save_tensor_file((fs::path(work) / "backbone.safetensors").string(), bb);
    nn::NamedTensors state = opt.state();
    for (auto& t : bank.state()) state.push_back(t);
    auto ms = mix_gen.state();
    nn::TrainingState s{it, state, default_generator().state(),
                        {{"weights", wq}, {"key_weights", wk}, {"data.epoch", std::to_string(loader.position().epoch)},
                         {"data.index", std::to_string(loader.position().index)},
                         {"mix_rng", fmt::format("{},{},{},{}", ms.s[0], ms.s[1], ms.s[2], ms.s[3])}, {"config", c.yaml()}}};
    nn::save_training_state((fs::path(work) / "latest.state.safetensors").string(), s);
  };
  for (int64_t it = start + 1; it <= iters; ++it) {
    double lr = schedule.at(it - 1);
    opt.set_lr(lr);
    while (!loader.next(batch)) {}
    MixedBatch m = mix_batch(batch.images, batch.labels, batch.dataset_ids, mix, mix_gen);
    Tensor x = ops::to(m.images, dev);
    Tensor z = q(x);  // (N, D, h, w)
    int64_t h = z.size(2), w = z.size(3), D = z.size(1);
    Tensor y8 = ops::to(ops::resize_nearest(m.labels, h, w), dev);
    Tensor y2, mw;
    if (m.labels2.defined()) {
      y2 = ops::reshape(ops::to(ops::resize_nearest(m.labels2, h, w), dev), {-1});
      mw = ops::reshape(ops::to(ops::resize_nearest(m.mix_weight, h, w), dev), {-1});
    }
    Tensor zp = reshape(permute(z, {0, 2, 3, 1}), {-1, D});
    ProtoLossResult r = proto_loss(zp, ops::reshape(y8, {-1}), bank.prototypes(), bank.filled(), lo, class_dataset, y2, mw);
    opt.zero_grad();
    backward(r.loss);
    opt.step();
    {
      NoGradGuard ng;
      momentum_update(k, q, c.f("mdp.key_momentum"));
      Tensor keys = k(x);
      Tensor hard = y8;  // with blending, only hard-labelled pixels update the bank
      if (mw.defined())
        hard = ops::where(ops::compare(ops::CompareOp::Eq, ops::reshape(mw, y8.shape()), 1.0), y8,
                          ops::full({}, double(ls->ignore_index()), DType::Int64, dev));
      bank.update(keys, hard);
    }
    double loss = r.loss.item();
    MDP_CHECK(std::isfinite(loss), "mdp pretrain: the loss became {} at iteration {} (lower train.lr?)", loss, it);
    progress.update(it, loss, lr, batch.size(), fmt::format("proto {:.3f} sc {:.3f} filled {}", r.proto, r.sparse, bank.num_filled()));
    auto [within, across] = prototype_cosines(bank, *ls);
    append_line(log, fmt::format("{{\"iter\": {}, \"loss\": {:.9g}, \"proto\": {:.6f}, \"sparse\": {:.6f}, \"lr\": {:.6e}, "
                                 "\"filled\": {}, \"cos_within\": {:.4f}, \"cos_across\": {:.4f}, \"pixels\": {}}}",
                                 it, loss, r.proto, r.sparse, lr, bank.num_filled(), within, across, r.pixels));
    xs.push_back(double(it));
    lp.push_back(r.proto);
    ls_sc.push_back(r.sparse);
    filled_n.push_back(double(bank.num_filled()));
    AfterIteration next = after_iteration(run, start, it, iters, ckpt_every);
    if (next.checkpoint) save(it);
    if (next.exit_code >= 0) {
      progress.finish();
      report_early_end("pretrain", next, it, start);
      return next.exit_code;
    }
  }
  progress.finish();
  write_line_plot((fs::path(work) / "curves.svg").string(),
                  {{"losses", "iteration", "loss", {{"pixel-to-prototype", xs, lp}, {"sparse coding", xs, ls_sc}}},
                   {"filled prototypes", "iteration", "classes", {{"filled", xs, filled_n}}}});
  write_similarity_plot((fs::path(work) / "prototypes.svg").string(), bank, *ls);
  auto [within, across] = prototype_cosines(bank, *ls);
  std::printf("prototypes: %ld of %ld filled; mean cosine within datasets %.3f, across %.3f\n", long(bank.num_filled()), long(C),
              within, across);
  std::printf("done: backbone for fine-tuning %s (mdp train --set model.pretrained=...), similarity map %s, log %s\n",
              (fs::path(work) / "backbone.safetensors").c_str(), (fs::path(work) / "prototypes.svg").c_str(), log.c_str());
  return 0;
}

}  // namespace mdp::apps
