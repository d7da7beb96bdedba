// pretrain.cpp: `mdp pretrain`: the config becomes a concatenated label space, a Loader and a
// PretrainStep (mdp/pretrain_step.h: one MDP iteration, or one of the paper's baselines picked by
// pretrain.method, top to bottom); this file runs the loop, the schedule, checkpoints, the log and plots.
// pretrain.sequential trains on one dataset after another (data.datasets order, shares of the iterations
// in proportion to data.weights, by default the sizes; the learning-rate schedule restarts for each). Checkpoints hold the trained networks (and
// the bank), plus backbone.safetensors: the backbone alone in torchvision naming, which `mdp train`
// starts from (model.pretrained).
#include "apps/pretrain.h"


#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "apps/cli.h"
#include "apps/common.h"
#include "apps/plot.h"
#include "apps/progress.h"
#include "mdp/json.h"
#include "data/dataset_wrappers.h"
#include "data/label_space.h"
#include "data/loader.h"
#include "mdp/pretrain_step.h"
#include "mdp/run_scaling.h"
#include "nn/checkpoint.h"
#include "nn/data_parallel.h"
#include "nn/layers.h"
#include "nn/lr_schedule.h"
#include "nn/optimizer.h"
#include "nn/summary.h"
#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tensor/tensor_file.h"
#include "tensor/threads.h"

namespace mdp::apps {
namespace fs = std::filesystem;

namespace {
void write_similarity_plot(const std::string& path, const PrototypeBank& bank, const data::LabelSpace& ls) {
  std::vector<double> p = ops::to_vector(bank.class_means()), f = ops::to_vector(bank.filled());
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
// Sequential pretraining: stage s covers iterations [begin, end) (0-based) and dataset s only. The
// stages share the iterations in proportion to the datasets' weights (by default their sizes, so every
// dataset gets the same number of epochs); each stage has at least one iteration.
struct Stage {
  int index = 0;
  int64_t begin = 0, end = 0;
};
Stage stage_of(int64_t it0, int64_t iters, const std::vector<double>& weights) {
  const int S = int(weights.size());
  double total = 0;
  for (double w : weights) total += w;
  std::vector<int64_t> bounds(size_t(S) + 1, 0);  // bounds[s] = first iteration of stage s
  double acc = 0;
  for (int s = 1; s < S; ++s) {
    acc += weights[size_t(s - 1)];
    bounds[size_t(s)] = std::clamp<int64_t>(std::llround(acc / total * double(iters)), bounds[size_t(s - 1)] + 1, iters - (S - s));
  }
  bounds[size_t(S)] = iters;
  Stage st;
  while (st.index + 1 < S && it0 >= bounds[size_t(st.index + 1)]) ++st.index;
  st.begin = bounds[size_t(st.index)];
  st.end = bounds[size_t(st.index + 1)];
  return st;
}
}  // namespace

int pretrain_main(int argc, char** argv) {
  Config c(pretrain_schema());
  RunSetup run;
  nn::ProcessGroup& world = join_world();  // one process, or a rank of `mpirun -np N mdp pretrain`
  const bool lead = world.rank() == 0;     // rank 0 prints, logs and writes the work dir
  if (!setup_run("pretrain", "Multi-Dataset Pretraining: pixel-to-prototype contrast over concatenated label spaces.",
                 "work_dirs/pretrain", argc, argv, c, run)) {
    nn::shutdown_distributed();  // only help or the config was printed
    return 0;
  }
  const std::string work = run.work;
  const bool resume = run.resume;
  const nn::RunState& resumed = run.resumed;
  const std::string method = c.s("pretrain.method");
  const PretrainMethod kind = pretrain_method_from_name(method);
  const bool is_mdp = kind == PretrainMethod::MDP, embeds = is_mdp || kind == PretrainMethod::PixelContrast;
  MDP_CHECK(c.s("train.precision") == "fp32" || c.s("train.precision") == "bf16", "config: train.precision '{}' is not fp32 or bf16",
            c.s("train.precision"));
  const bool bf16 = c.s("train.precision") == "bf16";
  const Device dev = start_on_ranks("pretrain", c, work, world);
  manual_seed(uint64_t(c.i("train.seed")));
  if (!lead) agree_or_exit("pretrain", "");  // rank 0 writes missing generated datasets first

  // The concatenated label space.
  auto names = c.sl("data.datasets"), roots = c.sl("data.roots"), splits = c.sl("data.splits");
  auto weights = c.fl("data.weights");
  auto unlabeled_idx = c.il("data.unlabeled");
  MDP_CHECK(!names.empty(), "config: data.datasets is empty");
  const bool all_generated = std::all_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("generated:", 0) == 0; });
  MDP_CHECK(roots.empty() || roots.size() == names.size() || (roots.size() == 1 && all_generated),
            "config: data.roots has {} entries for {} datasets ({}); give one root per dataset, in the order of data.datasets "
            "(one root serves several only when all are generated domains)", roots.size(), names.size(), fmt::join(names, ", "));
  MDP_CHECK(splits.empty() || splits.size() == names.size(), "config: data.splits has {} entries for {} datasets", splits.size(),
            names.size());
  MDP_CHECK(weights.empty() || weights.size() == names.size(), "config: data.weights has {} entries for {} datasets",
            weights.size(), names.size());
  for (int64_t u : unlabeled_idx)
    MDP_CHECK(u >= 0 && u < int64_t(names.size()), "config: data.unlabeled names dataset {}, but data.datasets has {} (0-based)",
              u, names.size());
  std::vector<data::LabelSpaceMember> members;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string kind = names[i], domain;
    if (kind.rfind("generated:", 0) == 0) {
      domain = kind.substr(10);
      kind = "generated";
    }
    std::string root = roots.empty() ? (fs::path(work) / "data").string() : roots[roots.size() == 1 ? 0 : i];
    std::string split = splits.empty() ? c.s("data.train_split") : splits[i];
    std::shared_ptr<const data::Dataset> ds = open_dataset(c, kind, root, split, domain);
    if (std::find(unlabeled_idx.begin(), unlabeled_idx.end(), int64_t(i)) != unlabeled_idx.end())
      ds = std::make_shared<data::WithoutLabels>(ds);
    double w = weights.empty() ? double(ds->size()) : weights[i];
    members.push_back({ds, w, kind == "generated" ? domain : ""});
  }
  if (lead) agree_or_exit("pretrain", "");
  data::LabelMerges merges;
  if (!c.s("data.label_mapping").empty()) merges = data::read_label_mapping(c.s("data.label_mapping"));
  auto ls = std::make_shared<data::LabelSpace>(members, merges);
  const int64_t C = ls->num_classes();
  bool any_unlabeled = false;
  for (int d = 0; d < ls->num_datasets(); ++d) any_unlabeled |= !ls->labeled(d);
  const bool sequential = c.b("pretrain.sequential");
  const int stages = sequential ? ls->num_datasets() : 1;
  std::vector<double> stage_weights(size_t(stages), 1.0);
  if (sequential)
    for (int d = 0; d < stages; ++d) stage_weights[size_t(d)] = ls->weight(d);
  const int64_t iters = c.i("train.iters"), ckpt_every = c.i("train.checkpoint_interval");
  MDP_CHECK(iters >= stages, "config: train.iters ({}) is less than the {} sequential stages", iters, stages);
  const MixOptions mix{c.f("mdp.region_mix"), c.f("mdp.pixel_mix"), c.b("mdp.blend"), ls->ignore_index()};
  // The key encoder's momentum and the queue: the config's, or scaled to the run's length.
  double key_momentum = c.f("mdp.key_momentum");
  int64_t queue_length = c.i("mdp.queue_length");
  if (c.b("mdp.scale_to_run")) {
    RunTimeConstants tc = scaled_to_run(iters, c.i("train.batch"));
    key_momentum = tc.key_momentum;
    queue_length = tc.queue_length;
  }

  // The method's networks, bank and losses: one PretrainStep (mdp/pretrain_step.h).
  PretrainStepOptions so;
  so.method = kind;
  so.backbone = {int(c.i("model.depth")), {false, true, true}, c.b("model.deep_stem"), c.f("model.width"), 1000, false};
  so.dim = c.i("mdp.dim");
  so.embed_bn = c.b("mdp.embed_bn");
  so.upsample_embeddings = c.b("mdp.upsample_embeddings");
  so.region_balanced = c.b("mdp.region_balanced");
  so.uniformity = c.f("mdp.uniformity");
  so.head_channels = c.i("model.channels");
  std::string scm = c.s("mdp.sparse_coding");
  MDP_CHECK(scm == "pull" || scm == "exclude" || scm == "none", "config: mdp.sparse_coding '{}' is not pull, exclude or none", scm);
  so.loss.tau = c.f("mdp.tau");
  so.loss.sparse_coding = scm == "pull" ? SparseCoding::Pull : scm == "exclude" ? SparseCoding::Exclude : SparseCoding::None;
  so.loss.k = c.i("mdp.k");
  so.loss.lambda_sc = c.f("mdp.lambda_sc");
  so.loss.other_datasets_only = c.b("mdp.other_datasets_only");
  so.pixel_contrast.tau = c.f("pixel_contrast.tau");
  so.pixel_contrast.base_tau = c.f("pixel_contrast.base_tau");
  so.pixel_contrast.max_views = c.i("pixel_contrast.max_views");
  so.pixel_contrast.max_samples = c.i("pixel_contrast.max_samples");
  so.mix = mix;
  so.bank.mode = c.s("mdp.bank");
  so.bank.queue_length = queue_length;
  so.bank.ema_momentum = c.f("mdp.ema_momentum");
  so.bank.center = c.b("mdp.center_prototypes");
  so.key_momentum = key_momentum;
  so.pseudo_threshold = c.f("mdp.pseudo_threshold");
  so.bf16 = bf16;
  so.seed = uint64_t(c.i("train.seed"));
  so.device = dev;
  so.world = &world;
  PretrainStep step(so, ls);
  if (c.s("model.norm") == "syncbn") nn::convert_sync_batchnorm(step.trained());
  if (!c.s("model.pretrained").empty() && !resume) {
    load_pretrained_backbone(step.trained(), c.s("model.pretrained"));
    step.copy_query_to_key();
  }
  nn::Module& net = step.trained();
  // A fresh optimizer (no momentum yet): at the start, and for each sequential stage, as separate runs.
  MDP_CHECK(c.s("train.optimizer") == "sgd" || c.s("train.optimizer") == "adamw", "config: train.optimizer '{}' is not sgd or adamw",
            c.s("train.optimizer"));
  auto make_optimizer = [&]() -> std::unique_ptr<nn::Optimizer> {
    if (c.s("train.optimizer") == "adamw")
      return std::make_unique<nn::AdamW>(nn::make_param_groups(net),
                                         nn::AdamWOptions{.lr = c.f("train.lr"), .weight_decay = c.f("train.weight_decay")});
    return std::make_unique<nn::SGD>(nn::make_param_groups(net),
                                     nn::SGDOptions{.lr = c.f("train.lr"), .momentum = c.f("train.momentum"), .weight_decay = c.f("train.weight_decay")});
  };
  std::unique_ptr<nn::Optimizer> opt = make_optimizer();
  auto schedule_for = [&](const Stage& st) {
    nn::LrScheduleConfig sc;
    sc.base_lr = c.f("train.lr");
    sc.min_lr = c.f("train.min_lr");
    sc.power = c.f("train.power");
    sc.max_iters = st.end - st.begin;
    sc.warmup_iters = c.i("train.warmup_iters");
    return nn::LrSchedule(sc);
  };

  // The data: all datasets at once, or (sequential) the current stage's dataset only.
  data::LoaderOptions lopt;
  lopt.batch_size = int(c.i("train.batch"));
  lopt.num_workers = int(c.i("data.workers"));
  lopt.seed = uint64_t(c.i("train.seed"));
  lopt.rank = world.rank();  // each rank its share of every epoch; train.batch is per rank
  lopt.world_size = world.size();
  auto loader_for = [&](const Stage& st) {
    data::LoaderOptions o = lopt;
    o.sample_weights = ls->sample_weights();
    if (sequential) {
      o.seed += uint64_t(st.index);
      for (int64_t i = 0; i < ls->size(); ++i)
        if (ls->locate(i).first != st.index) o.sample_weights[size_t(i)] = 0;
    }
    return std::make_unique<data::Loader>(ls, train_pipeline_of(c), o);
  };

  int64_t start = 0;
  Stage stage = stage_of(0, iters, stage_weights);
  if (resume) {
    start = resumed.step;
    stage = stage_of(std::min(start, iters - 1), iters, stage_weights);
  }
  MDP_CHECK(ls->size() >= lopt.batch_size, "config: the datasets hold {} training images in all, fewer than one batch of "
            "train.batch {}; lower train.batch", ls->size(), lopt.batch_size);
  std::unique_ptr<data::Loader> loader = loader_for(stage);
  nn::LrSchedule schedule = schedule_for(stage);
  if (resume) {
    MDP_CHECK(resumed.world_size == world.size(), "mdp pretrain --resume: the checkpoint was written by {} rank(s); resume it "
              "with as many (mpirun -np {}) to continue exactly", resumed.world_size, resumed.world_size);
    MDP_CHECK(!is_mdp || !resumed.key_weights.empty(), "mdp pretrain --resume: the checkpoint in '{}' names no key encoder "
              "weights (key_weights)", work);
    step.load_state(resumed);  // checks the method first
    nn::load_weights(net, (fs::path(work) / resumed.weights).string());
    if (step.key()) nn::load_weights(*step.key(), (fs::path(work) / resumed.key_weights).string());
    // A checkpoint at the last iteration of a stage holds the finished stage's position and momentum: the
    // next stage starts from the beginning of its own data with a fresh optimizer.
    const bool same_stage = resumed.data.stage == stage.index;
    if (same_stage) opt->load_state(resumed.optimizer);
    default_generator().set_state(resumed.rng.at("default"));
    if (same_stage) loader->seek({resumed.data.epoch, resumed.data.index});
    std::printf("resumed at iteration %ld\n", long(start));
  }
  finish_setup("pretrain");  // a config or data error on any rank ends every rank here, reported once
  if (!resume) {
    nn::broadcast_parameters(net, world);  // every rank starts from rank 0's weights
    step.copy_query_to_key();
  }

  nn::ModelSummary summary = nn::summarize(net, {1, 3, c.il("data.crop")[0], c.il("data.crop")[1]});
  std::printf("mdp pretrain (%s%s): %d datasets, %ld classes (ignore %d), %ld images; ResNet-%ld width %.2f at stride 8%s\n",
              method.c_str(), sequential ? ", sequential" : "", ls->num_datasets(), long(C), ls->ignore_index(), long(ls->size()),
              long(c.i("model.depth")), c.f("model.width"),
              embeds ? fmt::format(", D = {}", c.i("mdp.dim")).c_str()
                     : kind == PretrainMethod::Classification ? ", pooled linear classifier (image-level labels)" : ", DeepLabV3 head");
  for (int d = 0; d < ls->num_datasets(); ++d) {
    if (!ls->labeled(d))
      std::printf("  %-14s unlabeled   %6ld images  weight %.3g (pseudo-labels from the prototypes)\n", ls->prefix(d).c_str(),
                  long(ls->dataset(d).size()), ls->weight(d));
    else
      std::printf("  %-14s %4d classes  %6ld images  weight %.3g\n", ls->prefix(d).c_str(), ls->num_classes_of(d),
                  long(ls->dataset(d).size()), ls->weight(d));
  }
  std::printf("cross-dataset mixing: region %.2f, pixel %.2f%s per sample\n", mix.region_prob, mix.pixel_prob,
              mix.blend ? " (blended, soft targets)" : "");
  if (is_mdp)
    std::printf("key encoder momentum %.4g, prototype queue %ld per class%s\n", key_momentum, long(queue_length),
                c.b("mdp.scale_to_run") ? " (scaled to the run's length, mdp/run_scaling.h)" : "");
  std::printf("memory: parameters %.1f MiB%s, gradients %.1f MiB, momentum %.1f MiB\n", double(summary.param_bytes) / (1 << 20),
              is_mdp ? " (+ the same again for the key network)" : "", double(summary.grad_bytes) / (1 << 20),
              double(summary.grad_bytes) / (1 << 20));
  if (world.size() > 1)
    std::printf("distributed: %d ranks (backend %s), rank 0 writes the work dir; global batch %d x %d = %d%s\n", world.size(),
                world.backend().c_str(), world.size(), lopt.batch_size, world.size() * lopt.batch_size,
                is_mdp ? "; the bank takes every rank's keys" : "");
  std::fflush(stdout);  // the header at once, also into a pipe or a log file (the memory check is mdp train's only)

  std::optional<RunLog> run_log;
  if (lead) run_log.emplace(work, resume, start, c.b("train.tensorboard"));
  const std::string log = (fs::path(work) / "log.jsonl").string();
  install_stop_signals();
  Progress progress(iters, start, c.i("train.log_interval"));
  data::Batch batch;
  auto save = [&](int64_t it) {  // on every rank (the generators are gathered); rank 0 writes
    nn::RunState s;
    step.save_state(s);  // the method, the bank, the mixing and sampling generators of every rank
    if (!lead) return;
    std::string wq = fmt::format("iter_{}.safetensors", it), wk = fmt::format("iter_{}.key.safetensors", it);
    nn::save_weights((fs::path(work) / wq).string(), net, {{"iter", std::to_string(it)}});
    if (step.key()) nn::save_weights((fs::path(work) / wk).string(), *step.key(), {{"iter", std::to_string(it)}});
    TensorFile bb;  // the backbone in torchvision naming, for mdp train's model.pretrained
    for (auto& [n, t] : step.backbone().state_dict()) bb.tensors[n] = t;
    bb.metadata = {{"format", "mdp-weights"}, {"source", "mdp pretrain (" + method + ")"}, {"iter", std::to_string(it)}};
    save_tensor_file((fs::path(work) / "backbone.safetensors").string(), bb);
    s.command = "pretrain";  // written last, atomically: it names complete weights
    s.step = it;
    s.weights = wq;
    if (step.key()) s.key_weights = wk;
    s.config = c.yaml();
    s.data = {loader->position().epoch, loader->position().index, stage.index};
    s.optimizer = opt->state();
    s.rng["default"] = default_generator().state();
    s.world_size = world.size();
    nn::save_run_state((fs::path(work) / "latest.state.safetensors").string(), s);
  };
  for (int64_t it = start + 1; it <= iters; ++it) {
    Stage st = stage_of(it - 1, iters, stage_weights);
    if (st.index != stage.index) {
      stage = st;
      loader = loader_for(stage);
      schedule = schedule_for(stage);
      opt = make_optimizer();
    }
    if (sequential && (it == start + 1 || it == stage.begin + 1))
      progress.message(fmt::format("sequential: stage {} of {}, dataset {} (iterations {}..{})", stage.index + 1, stages,
                                   ls->prefix(stage.index), stage.begin + 1, stage.end));
    double lr = schedule.at(it - 1 - stage.begin);
    opt->set_lr(lr);
    while (!loader->next(batch)) {}
    PretrainStepResult r = step.run(batch, *opt);
    int64_t images = batch.size();
    if (world.size() > 1) {  // the log shows the means over ranks (MDP: each rank's share already weighed)
      Tensor t = ops::from_vector({r.loss, r.proto, r.sparse, r.embed_mean_norm, r.uniformity, double(images)}, {6}, DType::Float64);
      world.all_reduce_sum(t);
      std::vector<double> v = ops::to_vector(t);
      const double W = world.size();
      r.loss = v[0] / W, r.proto = v[1] / W, r.sparse = v[2] / W, r.embed_mean_norm = v[3] / W, r.uniformity = v[4] / W;
      images = int64_t(v[5]);
    }
    const double lv = r.loss;
    MDP_CHECK(std::isfinite(lv), "mdp pretrain: the loss became {} at iteration {} (lower train.lr?)", lv, it);
    Json line = {{"iter", it}, {"loss", lv}, {"lr", lr}};
    std::string detail;
    if (is_mdp) {
      detail = fmt::format("proto {:.3f} sc {:.3f} filled {}", r.proto, r.sparse, r.filled);
      line["proto"] = json_number(r.proto, 6);
      line["sparse"] = json_number(r.sparse, 6);
      line["pixels"] = r.pixels;
      if (so.uniformity > 0) {
        detail += fmt::format(" unif {:.3f}", r.uniformity);
        line["uniformity"] = json_number(r.uniformity, 6);
      }
    } else if (kind == PretrainMethod::PixelContrast) {
      detail = fmt::format("contrast {:.3f} anchors {}", r.loss, r.anchors);
      line["contrast"] = json_number(r.loss, 6);
      line["anchors"] = r.anchors;
    } else {
      line["ce"] = json_number(r.loss, 6);
    }
    if (any_unlabeled) {
      detail += fmt::format(" pseudo {}", r.pseudo_pixels);
      line["pseudo_pixels"] = r.pseudo_pixels;
    }
    progress.update(it, lv, lr, images, detail);
    line["img_s"] = json_number(progress.images_per_second(), 2);
    line["mem_mb"] = json_number(double(allocator_for(dev).stats().peak_bytes) / (1 << 20), 1);
    if (is_mdp || kind == PretrainMethod::PixelContrast) line["embed_mean_norm"] = json_number(r.embed_mean_norm, 4);
    if (is_mdp) {
      auto [within, across] = prototype_cosines(step.bank(), *ls);
      line["filled"] = r.filled;
      line["cos_within"] = json_number(within, 4);
      line["cos_across"] = json_number(across, 4);
    }
    if (lead) run_log->write(line);
    AfterIteration next = after_iteration(run, start, it, iters, ckpt_every, stop_signal_of_all(world));
    if (next.checkpoint) save(it);
    if (next.exit_code >= 0) {
      progress.finish();
      report_early_end("pretrain", next, it, start);
      world.barrier();
      nn::shutdown_distributed();
      return next.exit_code;
    }
  }
  progress.finish();
  world.barrier();
  nn::shutdown_distributed();
  if (!lead) return 0;
  std::string curves = (fs::path(work) / "curves.svg").string();  // the whole run, resumed parts included
  if (is_mdp) {
    LogSeries proto = read_log_series(log, "proto"), sparse = read_log_series(log, "sparse"), filled = read_log_series(log, "filled");
    write_line_plot(curves, {{"losses", "iteration", "loss",
                              {{"pixel-to-prototype", proto.iters, proto.values}, {"sparse coding", sparse.iters, sparse.values}}},
                             {"filled prototypes", "iteration", "classes", {{"filled", filled.iters, filled.values}}}});
    write_similarity_plot((fs::path(work) / "prototypes.svg").string(), step.bank(), *ls);
    auto [within, across] = prototype_cosines(step.bank(), *ls);
    std::printf("prototypes: %ld of %ld filled; mean cosine within datasets %.3f, across %.3f\n", long(step.bank().num_filled()), long(C),
                within, across);
    std::printf("similarity map of the prototypes: %s\n", (fs::path(work) / "prototypes.svg").c_str());
  } else {
    LogSeries loss = read_log_series(log, method == "pixel-contrast" ? "contrast" : "ce");
    write_line_plot(curves, {{"loss", "iteration", method == "pixel-contrast" ? "pixel-to-pixel contrast" : "cross-entropy",
                              {{method, loss.iters, loss.values}}}});
  }
  std::printf("done: backbone for fine-tuning %s (mdp train --set model.pretrained=...), log %s\n",
              (fs::path(work) / "backbone.safetensors").c_str(), log.c_str());
  return 0;
}

}  // namespace mdp::apps
