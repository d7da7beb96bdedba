// train.cpp: the supervised training loop and evaluation command. The loop, top to bottom:
// micro-batches from the loader -> the schedule's learning rate -> mdp::TrainStep (mdp/train_step.h:
// forward, cross-entropy, backward, gradient all-reduce, clipping, optimizer step) -> log line / JSONL ->
// periodic evaluation and checkpoint.
#include "apps/train.h"

#include <cmath>
#include <filesystem>
#include <optional>
#include <fstream>

#include "apps/cli.h"
#include "apps/common.h"
#include "apps/plot.h"
#include "apps/progress.h"
#include "autograd/autocast.h"
#include "mdp/json.h"
#include "mdp/train_step.h"
#include "data/loader.h"
#include "nn/checkpoint.h"
#include "nn/data_parallel.h"
#include "nn/layers.h"
#include "nn/lr_schedule.h"
#include "nn/optimizer.h"
#include "nn/summary.h"
#include "tensor/allocator.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace mdp::apps {
namespace fs = std::filesystem;

namespace {
// The loss and mIoU curves of the whole run (resumed parts included), from log.jsonl.
void plot_log(const std::string& log, const std::string& svg) {
  LogSeries loss = read_log_series(log, "loss"), miou = read_log_series(log, "mIoU");
  write_line_plot(svg, {{"training loss", "iteration", "loss", {{"loss", loss.iters, loss.values}}},
                        {"validation mIoU", "iteration", "mIoU (%)", {{"mIoU", miou.iters, miou.values}}}});
}

std::string bytes(int64_t b) { return fmt::format("{:.1f} MiB", double(b) / (1 << 20)); }

// MemAvailable of /proc/meminfo in bytes (-1 where there is none).
int64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return -1;
}

// The activation memory of one image: a batch-1 forward and backward at the crop size, measured by the
// allocator. The model is in eval mode for it (batch-norm statistics and dropout untouched, no random
// numbers drawn), and every iteration clears the gradients first, so the run itself is unchanged.
int64_t activations_per_image(nn::DeepLabV3& model, const Config& c, Device dev, bool bf16) {
  Allocator& alloc = allocator_for(dev);
  auto crop = c.il("data.crop");
  alloc.reset_peak();
  int64_t before = alloc.stats().current_bytes;
  model.eval();
  {
    Tensor x = ops::zeros({1, 3, crop[0], crop[1]}, DType::Float32, dev);
    nn::SegOutputs out;
    {
      AutocastGuard autocast(bf16);
      out = model.forward_all(x);
    }
    Tensor loss = sum(out.out);
    if (out.aux.defined()) loss = add(loss, sum(out.aux));
    backward(loss);
  }
  int64_t per_image = alloc.stats().peak_bytes - before;  // (the gradients it leaves are cleared by the first step)
  model.train();
  return per_image;
}

EvaluateOptions evaluate_options_of(const Config& c, Device device, int workers) {
  return {{c.s("eval.mode"), c.il("eval.crop"), c.il("eval.stride")}, device, c.i("eval.max_images"), workers};
}

struct Checkpointer {
  std::string dir;
  std::map<std::string, std::string> model;  // model_metadata(): the weights file names its model
  int world_size = 1;                         // ranks of the run (a resume must have as many)
  // Weights first (their own file), then the state that names them: the state is written last and
  // atomically, so latest.state.safetensors always points at complete weights.
  void save(int64_t iter, const nn::Module& model, const nn::Optimizer& opt, const data::LoaderPosition& pos,
            const std::string& config_yaml) const {
    std::string weights = fmt::format("iter_{}.safetensors", iter);
    std::map<std::string, std::string> meta = this->model;
    meta["iter"] = std::to_string(iter);
    nn::save_weights((fs::path(dir) / weights).string(), model, meta);
    nn::RunState s;
    s.command = "train";
    s.step = iter;
    s.weights = weights;
    s.config = config_yaml;
    s.data = {pos.epoch, pos.index, 0};
    s.optimizer = opt.state();
    s.rng["default"] = default_generator().state();
    s.world_size = world_size;
    nn::save_run_state((fs::path(dir) / "latest.state.safetensors").string(), s);
  }
};
}  // namespace

int train_main(int argc, char** argv) {
  Config c(train_schema());
  RunSetup run;
  nn::ProcessGroup& world = join_world();  // one process, or a rank of `mpirun -np N mdp train`
  const bool lead = world.rank() == 0;     // rank 0 prints, logs, evaluates and writes the work dir
  if (!setup_run("train", "Supervised DeepLabV3 training on one dataset, as MMSegmentation's tools/train.py.", "work_dirs/train", argc, argv, c, run)) {
    nn::shutdown_distributed();  // only help or the config was printed
    return 0;
  }
  const std::string work = run.work;
  const bool resume = run.resume;
  const nn::RunState& resumed = run.resumed;
  if (c.s("data.root").empty() && c.s("data.dataset") == "generated") c.set("data.root=" + (fs::path(work) / "data").string());
  MDP_CHECK(c.s("train.precision") == "fp32" || c.s("train.precision") == "bf16", "config: train.precision '{}' is not fp32 or bf16",
            c.s("train.precision"));
  const bool bf16 = c.s("train.precision") == "bf16";
  const Device dev = start_on_ranks("train", c, work, world);
  manual_seed(uint64_t(c.i("train.seed")));

  if (c.s("data.dataset") == "generated" && !lead) agree_or_exit("train", "");  // rank 0 writes a missing one first
  auto train_ds = open_split(c, c.s("data.train_split"), true);
  if (c.s("data.dataset") == "generated" && lead) agree_or_exit("train", "");
  auto val_ds = open_split(c, c.s("data.val_split"));
  int K = train_ds->num_classes();
  nn::DeepLabV3 model(seg_model_config(c, K));
  if (c.f("model.dropout") >= 0) nn::set_dropout(model, c.f("model.dropout"));
  if (c.s("model.norm") == "syncbn") nn::convert_sync_batchnorm(model);
  if (!c.s("model.pretrained").empty() && !resume) load_pretrained_backbone(model, c.s("model.pretrained"));
  model.to(dev);
  model.train();
  const bool frozen = c.b("train.freeze_backbone");
  if (frozen) model.backbone().set_frozen(true);  // the optimizer leaves it out; eval mode is set every iteration

  nn::ParamGroupRules rules{c.b("train.no_decay_norm_bias"),
                            {"decode_head.", "classifier.", "auxiliary_head.", "aux_classifier.", "linear_head."},
                            c.f("train.head_lr_mult")};
  std::unique_ptr<nn::Optimizer> opt;
  if (c.s("train.optimizer") == "sgd")
    opt = std::make_unique<nn::SGD>(nn::make_param_groups(model, rules),
                                    nn::SGDOptions{.lr = c.f("train.lr"), .momentum = c.f("train.momentum"), .weight_decay = c.f("train.weight_decay")});
  else if (c.s("train.optimizer") == "adamw")
    opt = std::make_unique<nn::AdamW>(nn::make_param_groups(model, rules),
                                      nn::AdamWOptions{.lr = c.f("train.lr"), .weight_decay = c.f("train.weight_decay")});
  else throw Error(fmt::format("config: train.optimizer '{}' is not sgd or adamw", c.s("train.optimizer")));
  nn::LrScheduleConfig sc;
  sc.policy = c.s("train.schedule");
  sc.base_lr = c.f("train.lr");
  sc.min_lr = c.f("train.min_lr");
  sc.power = c.f("train.power");
  sc.max_iters = c.i("train.iters");
  sc.steps = c.il("train.steps");
  sc.warmup_iters = c.i("train.warmup_iters");
  sc.warmup_ratio = c.f("train.warmup_ratio");
  nn::LrSchedule schedule(sc);

  data::LoaderOptions lo;
  lo.batch_size = int(c.i("train.batch"));
  lo.num_workers = int(c.i("data.workers"));
  lo.seed = uint64_t(c.i("train.seed"));
  lo.rank = world.rank();  // each rank its share of every epoch (DistributedSampler); train.batch is per rank
  lo.world_size = world.size();
  MDP_CHECK(lo.batch_size > 0 && c.i("train.iters") > 0 && c.i("train.accumulate") > 0,
            "config: train.batch, train.iters and train.accumulate must be positive");
  const int64_t global_batch = int64_t(lo.batch_size) * world.size();
  MDP_CHECK(train_ds->size() >= global_batch,
            "config: {} '{}' has {} training images (data.repeat {}), fewer than one batch of train.batch {}{}; repeat the "
            "split with data.repeat={} (MMSeg's RepeatDataset) or lower train.batch", c.s("data.dataset"), c.s("data.train_split"),
            train_ds->size(), c.i("data.repeat"), lo.batch_size,
            world.size() > 1 ? fmt::format(" on each of {} ranks", world.size()) : "",
            c.i("data.repeat") * ((global_batch + train_ds->size() - 1) / std::max<int64_t>(1, train_ds->size())));
  data::Loader loader(train_ds, train_pipeline_of(c), lo);

  int64_t start = 0;
  if (resume) {
    MDP_CHECK(resumed.world_size == world.size(), "mdp train --resume: the checkpoint was written by {} rank(s) (global batch {} "
              "x {}); resume it with as many (mpirun -np {}) to continue exactly", resumed.world_size, resumed.world_size,
              lo.batch_size, resumed.world_size);
    nn::load_weights(model, (fs::path(work) / resumed.weights).string());
    opt->load_state(resumed.optimizer);
    default_generator().set_state(resumed.rng.at("default"));
    loader.seek({resumed.data.epoch, resumed.data.index});
    start = resumed.step;
    std::printf("resumed from %s at iteration %ld\n", (fs::path(work) / resumed.weights).c_str(), long(start));
  }
  finish_setup("train");  // a config or data error on any rank ends every rank here, reported once
  nn::broadcast_parameters(model, world);  // every rank starts from rank 0's weights

  nn::ModelSummary summary = nn::summarize(model, {1, 3, c.il("data.crop")[0], c.il("data.crop")[1]});
  int64_t opt_bytes = (c.s("train.optimizer") == "sgd" ? 1 : 2) * summary.grad_bytes;
  std::printf("mdp train: %s on %s (%s, %ld images, %d classes), %ld iterations of batch %d on %s\n",
              c.s("model.name").c_str(), train_ds->name().c_str(), c.s("data.train_split").c_str(), long(train_ds->size()), K,
              long(c.i("train.iters")), lo.batch_size, dev.str().c_str());
  std::printf("memory: parameters %s, gradients %s, optimizer state %s; activations are measured in the first iteration\n",
              bytes(summary.param_bytes).c_str(), bytes(summary.grad_bytes).c_str(), bytes(opt_bytes).c_str());
  std::printf("work dir: %s\n", work.c_str());
  if (world.size() > 1)
    std::printf("distributed: %d ranks (backend %s), rank 0 writes the work dir; global batch %d x %d = %ld%s\n", world.size(),
                world.backend().c_str(), world.size(), lo.batch_size, long(global_batch),
                c.s("model.norm") == "syncbn" ? ", batch norm synchronised" : ", batch norm per rank (model.norm: bn)");
  std::fflush(stdout);  // the header at once, also into a pipe or a log file
  if (c.b("train.memory_check") && dev.is_cpu()) {
    int64_t per_image = activations_per_image(model, c, dev, bf16);
    int64_t avail = c.f("train.memory_limit_mb") > 0 ? int64_t(c.f("train.memory_limit_mb") * (1 << 20)) : available_memory();
    int64_t need = summary.param_bytes + summary.grad_bytes + opt_bytes + per_image * lo.batch_size;
    std::printf("memory: estimated peak %s (activations about %s per image, from a batch-1 pass), %s available\n",
                bytes(need).c_str(), bytes(per_image).c_str(), avail < 0 ? "unknown" : bytes(avail).c_str());
    std::fflush(stdout);
    MDP_CHECK(avail < 0 || double(need) < 0.9 * double(avail),
              "mdp train: this run needs about {} (parameters, gradients and optimizer state {}, activations about {} per "
              "image at batch {}), more than 90% of the {} available; lower train.batch (with train.accumulate to keep the "
              "batch), data.crop or model.depth, use train.precision=bf16, or set train.memory_check=false to try anyway",
              bytes(need), bytes(summary.param_bytes + summary.grad_bytes + opt_bytes), bytes(per_image), lo.batch_size,
              bytes(avail));
  }

  std::optional<RunLog> run_log;
  if (lead) run_log.emplace(work, resume, start, c.b("train.tensorboard"));
  const std::string log = (fs::path(work) / "log.jsonl").string();
  Checkpointer ckpt{work, model_metadata(c, K), world.size()};
  install_stop_signals();
  Progress progress(c.i("train.iters"), start, c.i("train.log_interval"));
  int64_t iters = c.i("train.iters"), accumulate = c.i("train.accumulate");
  int64_t eval_every = c.i("train.eval_interval"), ckpt_every = c.i("train.checkpoint_interval");
  TrainStep step(model, *opt, {.device = dev, .bf16 = bf16, .aux_weight = c.f("train.aux_weight"),
                               .grad_clip = c.f("train.grad_clip"), .world = &world});
  std::vector<data::Batch> batches(static_cast<size_t>(accumulate));  // one iteration's micro-batches
  double sync_seconds = 0;  // waiting for the gradient all-reduces after backward
  int64_t sync_bytes = 0, sync_buckets = 0, sync_overlapped = 0;
  for (int64_t it = start + 1; it <= iters; ++it) {
    if (frozen) model.backbone().eval();  // (again after each evaluation, which restores train mode)
    Allocator& alloc = allocator_for(dev);
    if (it == start + 1) alloc.reset_peak();
    int64_t before = alloc.stats().current_bytes;
    for (data::Batch& b : batches)
      while (!loader.next(b)) {}
    const double lr = schedule.at(it - 1);
    TrainStepResult r = step.run(batches, lr, it);  // forward, loss, backward, all-reduce, clip, optimizer step
    sync_seconds += r.sync.wait_seconds;
    sync_bytes = r.sync.bytes;
    sync_buckets = r.sync.buckets;
    sync_overlapped = r.sync.started_during_backward;
    if (it == start + 1)
      progress.message(fmt::format("memory: activations at batch {}: {} (peak {} total)", lo.batch_size,
                                   bytes(alloc.stats().peak_bytes - before), bytes(alloc.stats().peak_bytes)));
    double loss = r.loss;
    int64_t images = r.images;
    if (world.size() > 1) {  // the mean over ranks, and every rank's images
      Tensor t = ops::from_vector({loss, double(images)}, {2}, DType::Float64);
      world.all_reduce_sum(t);
      std::vector<double> v = ops::to_vector(t);
      loss = v[0] / world.size();
      images = int64_t(v[1]);
    }
    progress.update(it, loss, lr, images);
    if (lead)
      run_log->write(Json{{"iter", it}, {"loss", loss}, {"lr", lr}, {"img_s", json_number(progress.images_per_second(), 2)},
                          {"mem_mb", json_number(double(allocator_for(dev).stats().peak_bytes) / (1 << 20), 1)}});
    bool last = it == iters;
    if (lead && ((eval_every > 0 && it % eval_every == 0) || last)) {  // the others wait at the next all-reduce
      SegMetrics m = evaluate(model, val_ds, test_pipeline_of(c), evaluate_options_of(c, dev, lo.num_workers));
      SegScores s = m.scores();
      progress.message(fmt::format("iter {}: mIoU {:.2f} aAcc {:.2f} mAcc {:.2f} on {} ({})", it, 100 * s.miou, 100 * s.aacc,
                                   100 * s.macc, val_ds->name(), c.s("data.val_split")));
      Json eval_line{{"iter", it}, {"mIoU", json_number(100 * s.miou, 4)}, {"aAcc", json_number(100 * s.aacc, 4)},
                     {"mAcc", json_number(100 * s.macc, 4)}};
      for (size_t k = 0; k < s.iou.size() && k < val_ds->class_names().size(); ++k)  // per class, for mdp report
        eval_line["IoU." + val_ds->class_names()[k]] = json_number(100 * s.iou[k], 4);
      run_log->write(eval_line);
      if (last) {
        progress.finish();
        std::fputs(m.table(val_ds->class_names()).c_str(), stdout);
        write_text_atomically((fs::path(work) / "eval.json").string(), m.json(val_ds->class_names()) + "\n");
      }
    }
    AfterIteration next = after_iteration(run, start, it, iters, ckpt_every, stop_signal_of_all(world));
    if (next.checkpoint && lead) ckpt.save(it, model, *opt, loader.position(), c.yaml());
    if (next.exit_code >= 0) {
      progress.finish();
      report_early_end("train", next, it, start);
      world.barrier();
      nn::shutdown_distributed();
      return next.exit_code;
    }
  }
  progress.finish();
  if (world.size() > 1 && iters > start)
    std::printf("distributed: gradient all-reduce %.2f ms per iteration waited for after backward (%ld buckets, %ld of them "
                "started during backward, %.1f MiB), on rank 0\n", 1e3 * sync_seconds / double(iters - start),
                long(sync_buckets), long(sync_overlapped), double(sync_bytes) / (1 << 20));
  world.barrier();
  nn::shutdown_distributed();
  if (!lead) return 0;
  plot_log(log, (fs::path(work) / "curves.svg").string());
  std::printf("done: weights %s, log %s, curves %s\n", (fs::path(work) / fmt::format("iter_{}.safetensors", iters)).c_str(),
              log.c_str(), (fs::path(work) / "curves.svg").c_str());
  return 0;
}

int eval_main(int argc, char** argv) {
  cli::Parser p("eval", "mIoU, per-class IoU and accuracy, aAcc of a checkpoint on the validation split, as MMSegmentation.",
                {{"--config", "FILE", "the training config (a work dir's config.yaml)", ""},
                 {"--checkpoint", "FILE", "model weights (safetensors)", ""},
                 {"--set", "KEY=VALUE", "override a config key", "", true},
                 {"--mode", "M", "whole | slide (overrides eval.mode)", ""},
                 {"--out", "FILE", "JSON result file (default: next to the checkpoint, <name>.eval.json; <name>.slide.eval.json in slide mode)", ""},
                 {"--print-config", "", "print the resolved config and exit", ""},
                 {"--help-keys", "", "list every config key", ""}});
  if (!p.parse(argc, argv, 2)) return 0;
  Config c(train_schema());
  if (p.has("--help-keys")) {
    std::fputs(c.keys_help().c_str(), stdout);
    return 0;
  }
  if (!p.has("--config") || (!p.has("--checkpoint") && !p.has("--print-config")))
    throw cli::UsageError("mdp eval: --config and --checkpoint are required");
  c.load_file(p.str("--config"));
  for (auto& s : p.all("--set")) c.set(s);
  if (p.has("--mode")) c.set("eval.mode=" + p.str("--mode"));
  if (p.has("--print-config")) {
    std::fputs(c.yaml().c_str(), stdout);
    return 0;
  }
  set_num_threads(int(c.i("train.threads")));
  Device dev = Device::parse(c.s("train.device"));
  auto val_ds = open_split(c, c.s("data.val_split"));
  nn::DeepLabV3 model(seg_model_config(c, val_ds->num_classes()));
  std::string ck = p.str("--checkpoint");
  MDP_CHECK(fs::exists(ck), "mdp eval: checkpoint '{}' does not exist", ck);
  nn::load_weights(model, ck);
  model.to(dev);
  SegMetrics m = evaluate(model, val_ds, test_pipeline_of(c), evaluate_options_of(c, dev, int(c.i("data.workers"))));
  std::fputs(m.table(val_ds->class_names()).c_str(), stdout);
  const std::string mode = c.s("eval.mode") == "whole" ? "" : "." + c.s("eval.mode");  // slide never replaces whole
  std::string out = p.has("--out") ? p.str("--out") : (fs::path(ck).replace_extension("").string() + mode + ".eval.json");
  write_text_atomically(out, m.json(val_ds->class_names()) + "\n");
  std::printf("results written to %s\n", out.c_str());
  return 0;
}

}  // namespace mdp::apps
