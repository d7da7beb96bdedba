// experiment.cpp: `mdp experiment paper-ablations [--quick] [--seeds N] [--work-dir DIR]`. On the
// generated domains (data/generated.h: pretraining on shapes_a + shapes_b, two taxonomies; fine-tuning on
// the held-out shapes_c, whose taxonomy overlaps shapes_a's and not shapes_b's) it runs each baseline and
// ablation of the paper with the same pretraining budget, fine-tunes each with the same budget, and
// prints the downstream mIoU (mean ± standard deviation over seeds) beside the paper's corresponding
// rows (mdp-method.md §4, §7), with the paper's pairwise claims checked one by one. Writes results.json,
// results.md and ablations.svg (bar chart) into the work dir.
#include "apps/experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/cli.h"
#include "apps/common.h"
#include "apps/plot.h"
#include "apps/pretrain.h"
#include "apps/train.h"
#include "tensor/error.h"

namespace mdp::apps {
namespace fs = std::filesystem;

int run_command(std::vector<std::string> args, int (*fn)(int, char**)) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return fn(int(argv.size()), argv.data());
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `mdp <command> --config cfg --work-dir dir --set ...` unless dir/DONE says it ran with this very
// identity: the config, the overrides `sets` and `upstream` (the identity of the step whose output it
// uses). An interrupted run of the same identity resumes from its checkpoint; anything else in dir is
// cleared first. `untracked` overrides (threads) change speed, not results: they are not part of the
// identity. Marks success with dir/DONE holding the identity, which it returns.
std::string run_step(const char* command, int (*fn)(int, char**), const std::string& cfg, const std::string& dir,
                     const std::vector<std::string>& sets, const std::vector<std::string>& untracked,
                     const std::string& upstream = "") {
  std::string identity = read_text(cfg);
  for (auto& s : sets) identity += "--set " + s + "\n";
  if (!upstream.empty()) identity += "# after:\n" + upstream;
  const fs::path done = fs::path(dir) / "DONE", started = fs::path(dir) / "STARTED";
  if (fs::exists(done) && read_text(done.string()) == identity) return identity;
  bool resume = fs::exists(started) && read_text(started.string()) == identity &&
                fs::exists(fs::path(dir) / "latest.state.safetensors");
  std::vector<std::string> args = {"mdp", command};
  if (resume) {
    args.insert(args.end(), {"--resume", "--work-dir", dir});
  } else {
    if (fs::exists(dir)) std::printf("(%s: made by another config or unfinished before a checkpoint: starting it again)\n", dir.c_str());
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_text_atomically(started.string(), identity);
    args.insert(args.end(), {"--config", cfg, "--work-dir", dir});
    for (auto& s : sets) args.insert(args.end(), {"--set", s});
  }
  for (auto& s : untracked) args.insert(args.end(), {"--set", s});
  int rc = run_command(args, fn);
  if (rc != 0) throw Error(fmt::format("mdp {} in {} ended with exit code {}", command, dir, rc));
  write_text_atomically(done.string(), identity);
  return identity;
}

double read_miou(const std::string& eval_json) {
  std::string t = read_text(eval_json);
  size_t at = t.find("\"mIoU\": ");
  MDP_CHECK(at != std::string::npos && t.compare(at + 8, 4, "null") != 0, "experiment: no mIoU in '{}'", eval_json);
  return std::strtod(t.c_str() + at + 8, nullptr);
}

}  // namespace

ExperimentScale generated_configs(const GeneratedScale& s, const std::string& data_root) {
  std::string data = fmt::format(R"(  generated_size: [{0}, {0}]
  generated_images: [{1}, {2}]
  scale: [{3}, {0}]
  ratio_range: [0.75, 1.5]
  crop: [{0}, {0}]
  cat_max_ratio: 1.0
  workers: 2
)",
                                 s.image, s.train_images, s.val_images, 2 * s.image);
  // What both configs share: the backbone and the optimisation (fine-tuning evaluates only at the end).
  std::string backbone = fmt::format("  depth: {}\n  width: {}\n  channels: {}\n", s.depth, s.width, s.channels);
  auto train = [&](int64_t iters, const std::string& extra) {
    return fmt::format("train:\n  batch: {0}\n  iters: {1}\n  lr: 0.05\n  min_lr: 0.0005\n  log_interval: 50\n{2}"
                       "  checkpoint_interval: {1}\n  precision: {3}\n",
                       s.batch, iters, extra, s.precision);
  };
  ExperimentScale e;
  e.pretrain_yaml = "# pretraining of every arm (the arm's --set overrides change the method, data or ablated part)\n"
                    "data:\n  datasets: [generated:shapes_a, generated:shapes_b]\n  roots: [" + data_root + "]\n" + data +
                    "model:\n" + backbone + fmt::format("mdp:\n  dim: {}\n  queue_length: 1024\n", s.dim) +
                    train(s.pretrain_iters, "");
  e.finetune_yaml = "# fine-tuning of every arm on the downstream domain (DeepLabV3, MMSeg head, no auxiliary head)\n"
                    "data:\n  dataset: generated\n  domain: shapes_c\n  root: " + data_root + "\n" + data +
                    "model:\n  name: deeplabv3-mmseg\n" + backbone + train(s.finetune_iters, "  eval_interval: 0\n");
  return e;
}

namespace {

// The arms of paper-ablations, with the paper's corresponding row (downstream VOC mIoU unless stated).
struct Row {
  ArmSpec arm;
  std::string pretraining;  // what it pretrains on here
  double paper;             // NaN: no corresponding number
  std::string paper_setting;
};

std::vector<Row> ablation_rows() {
  const std::string no_mix1 = "mdp.region_mix=0", no_mix2 = "mdp.pixel_mix=0";
  const double none = std::nan("");
  return {
      {{"scratch", "from scratch", false, {}}, "-", none, "no VOC number (COCO: scratch 25.02)"},
      {{"supervised", "supervised, concatenated labels", true, {"pretrain.method=supervised", no_mix1, no_mix2}}, "A+B", 68.48,
       "customized CE, COCO from scratch"},
      {{"multi-head", "multi-head co-training", true, {"pretrain.method=multi-head", no_mix1, no_mix2}}, "A+B", 71.19,
       "VOC and ADE20K"},
      {{"pixel-contrast", "pixel-to-pixel contrast", true, {"pretrain.method=pixel-contrast", no_mix1, no_mix2}}, "A+B", 71.19,
       "VOC+ADE20K"},
      {{"sequential", "sequential MDP (B, then A)", true,
        {"pretrain.sequential=true", "data.datasets=[generated:shapes_b, generated:shapes_a]"}},
       "B -> A", 75.68, "COCO -> ADE20K -> VOC (MDP: 77.79)"},
      {{"mdp-single", "MDP on one domain", true, {"data.datasets=[generated:shapes_a]"}}, "A", 70.92, "VOC only"},
      {{"mdp-no-mixing", "MDP without mixing", true, {no_mix1, no_mix2}}, "A+B", 71.98, "VOC+ADE20K, 100 ep"},
      {{"mdp-no-sc", "MDP without sparse coding", true, {"mdp.sparse_coding=none"}}, "A+B", 71.98, "Table 4, w/o CSC"},
      {{"mdp-setting1", "MDP, sparse coding setting 1", true, {"mdp.sparse_coding=exclude"}}, "A+B", 70.88, "Table 4, CSC1"},
      {{"mdp", "MDP (full)", true, {}}, "A+B", 73.32, "VOC+ADE20K, 100 ep"},
  };
}

// The paper's pairwise claims: `better` beats `worse` (with the paper's numbers).
struct Claim {
  std::string better, worse, paper;
};
std::vector<Claim> paper_claims() {
  return {{"mdp", "scratch", "any pretraining beats none (COCO: 38.37 vs 25.02)"},
          {"mdp", "supervised", "76.85 vs 68.48 (COCO)"},
          {"mdp", "multi-head", "73.32 vs 71.19"},
          {"mdp", "pixel-contrast", "73.32 vs 71.19"},
          {"mdp", "sequential", "77.79 vs 75.68"},
          {"mdp", "mdp-single", "73.32 vs 70.92"},
          {"mdp", "mdp-no-mixing", "73.32 vs 71.98"},
          {"mdp", "mdp-setting1", "71.84 vs 70.88 (setting 2 vs setting 1)"}};
  // Not a claim: sparse coding on VOC, 71.84 with vs 71.98 without (its gain is on Cityscapes, 76.53 vs 75.37).
}

struct Stats {
  std::vector<double> values;
  double mean() const {
    double s = 0;
    for (double v : values) s += v;
    return values.empty() ? std::nan("") : s / double(values.size());
  }
  double std() const {  // sample standard deviation; 0 for one value
    if (values.size() < 2) return 0;
    double m = mean(), s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return std::sqrt(s / double(values.size() - 1));
  }
};

std::string pm(const Stats& s) {
  if (s.values.empty()) return "-";
  return s.values.size() < 2 ? fmt::format("{:.2f}", s.mean()) : fmt::format("{:.2f} ± {:.2f}", s.mean(), s.std());
}

std::string paper_cell(double v) { return std::isnan(v) ? "-" : fmt::format("{:.2f}", v); }

std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (c == '\n') r += "\\n";
    else if (c != '\r') r += c;
  }
  return r;
}
}  // namespace

ArmOutcome run_arm(const ArmSpec& a, const ExperimentScale& s, int seed, const std::string& dir, int threads) {
  fs::create_directories(dir);
  std::string pcfg = (fs::path(dir) / "pretrain_config.yaml").string(), fcfg = (fs::path(dir) / "finetune_config.yaml").string();
  ArmOutcome out;
  out.finetune_dir = (fs::path(dir) / "finetune").string();
  const std::vector<std::string> untracked = {"train.threads=" + std::to_string(threads)};
  std::vector<std::string> fsets = {"train.seed=" + std::to_string(seed)};
  std::string upstream;
  if (a.pretrain) {
    out.pretrain_dir = (fs::path(dir) / "pretrain").string();
    write_text_atomically(pcfg, s.pretrain_yaml);
    std::vector<std::string> psets = a.pretrain_set;
    psets.push_back("train.seed=" + std::to_string(seed));
    upstream = run_step("pretrain", pretrain_main, pcfg, out.pretrain_dir, psets, untracked);
    fsets.push_back("model.pretrained=" + (fs::path(out.pretrain_dir) / "backbone.safetensors").string());
  }
  write_text_atomically(fcfg, s.finetune_yaml);
  run_step("train", train_main, fcfg, out.finetune_dir, fsets, untracked, upstream);
  out.miou = read_miou((fs::path(out.finetune_dir) / "eval.json").string());
  return out;
}

int experiment_main(int argc, char** argv) {
  cli::Parser p("experiment", "The paper's experiments on the generated domains: mdp experiment paper-ablations [options].",
                {{"--quick", "", "a tiny scale for CI and a first look (minutes; the numbers mean little)", ""},
                 {"--seeds", "N", "seeds per arm (default 3; 1 with --quick)", ""},
                 {"--work-dir", "DIR", "where every run and the results go", "work_dirs/paper-ablations"},
                 {"--arms", "A,B", "run only these arms (names as in the table)", ""},
                 {"--threads", "N", "CPU threads", "2"}});
  std::string which = argc > 2 ? argv[2] : "";
  if (which == "--help" || which == "-h" || which.empty()) {
    std::fputs((p.help() + "\nexperiments:\n  paper-ablations   baselines and ablations of the paper on generated domains\n").c_str(),
               stdout);
    return which.empty() ? 2 : 0;
  }
  MDP_CHECK(which == "paper-ablations", "mdp experiment: unknown experiment '{}' (the one there is: paper-ablations)", which);
  if (!p.parse(argc, argv, 3)) return 0;
  bool quick = p.has("--quick");
  GeneratedScale sc;
  int seeds = 3;
  if (quick) {
    sc.image = 32;
    sc.train_images = 24;
    sc.val_images = 8;
    sc.batch = 4;
    sc.pretrain_iters = 4;
    sc.finetune_iters = 4;
    sc.width = 0.25;
    sc.channels = 16;
    sc.dim = 16;
    seeds = 1;
  }
  if (p.has("--seeds")) seeds = int(p.integer("--seeds"));
  MDP_CHECK(seeds >= 1 && seeds <= 100, "mdp experiment: --seeds must be 1..100, got {}", seeds);
  sc.threads = int(p.integer("--threads"));
  std::string work = p.str("--work-dir");
  fs::create_directories(work);
  ExperimentScale scale = generated_configs(sc, (fs::path(work) / "data").string());

  std::vector<Row> rows = ablation_rows();
  if (p.has("--arms")) {
    std::vector<Row> picked;
    std::stringstream ss(p.str("--arms"));
    for (std::string name; std::getline(ss, name, ',');) {
      auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.arm.name == name; });
      if (it == rows.end()) {
        std::string known;
        for (auto& r : rows) known += (known.empty() ? "" : ", ") + r.arm.name;
        throw Error(fmt::format("mdp experiment: --arms names '{}', which is not an arm (arms: {})", name, known));
      }
      picked.push_back(*it);
    }
    rows = picked;
  }
  std::printf("== paper-ablations%s: %zu arms x %d seeds; pretraining %ld iterations, fine-tuning %ld, batch %ld, "
              "%ldx%ld images, ResNet-%d width %.2f; work dir %s\n",
              quick ? " (quick)" : "", rows.size(), seeds, long(sc.pretrain_iters), long(sc.finetune_iters), long(sc.batch),
              long(sc.image), long(sc.image), sc.depth, sc.width, work.c_str());
  auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, Stats> results;
  std::vector<std::string> failures;  // a failed run is reported and left out; the others go on
  for (int seed = 0; seed < seeds; ++seed)
    for (auto& r : rows) {
      std::printf("\n== paper-ablations: %s, seed %d\n", r.arm.label.c_str(), seed);
      std::fflush(stdout);
      try {
        ArmOutcome o =
            run_arm(r.arm, scale, seed, (fs::path(work) / r.arm.name / fmt::format("seed_{}", seed)).string(), sc.threads);
        results[r.arm.name].values.push_back(o.miou);
      } catch (const std::exception& e) {
        if (stop_signal() != 0) throw;  // interrupted: stop here (the next run resumes)
        failures.push_back(fmt::format("{} seed {}: {}", r.arm.name, seed, e.what()));
        std::fprintf(stderr, "paper-ablations: %s\n", failures.back().c_str());
      }
    }
  double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;

  // The table, printed and as markdown; results.json; the bar chart.
  std::string title = fmt::format("downstream shapes_c mIoU (%) after {} fine-tuning iterations, mean ± std over {} seed{}",
                                  sc.finetune_iters, seeds, seeds > 1 ? "s" : "");
  std::string table = fmt::format("{:<34} {:<10} {:>14}   {:>6}  {}\n", "arm", "pretrain", "mIoU", "paper", "paper's setting");
  std::string md = "| arm | pretraining data | mIoU (%) | paper | paper's setting |\n|---|---|---|---|---|\n";
  std::string json = "{\"experiment\": \"paper-ablations\", \"quick\": " + std::string(quick ? "true" : "false") +
                     fmt::format(", \"seeds\": {}, \"minutes\": {:.1f}, \"arms\": [", seeds, minutes);
  std::vector<std::string> names;
  std::vector<double> means, stds, none;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const Stats& s = results[r.arm.name];
    table += fmt::format("{:<34} {:<10} {:>14}   {:>6}  {}\n", r.arm.label, r.pretraining, pm(s), paper_cell(r.paper), r.paper_setting);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", r.arm.label, r.pretraining, pm(s), paper_cell(r.paper), r.paper_setting);
    std::string vals;
    for (double v : s.values) vals += (vals.empty() ? "" : ", ") + fmt::format("{:.4f}", v);
    auto num = [](double v, bool known) { return known && !std::isnan(v) ? fmt::format("{:.4f}", v) : std::string("null"); };
    json += fmt::format("{}{{\"arm\": \"{}\", \"label\": \"{}\", \"mIoU\": [{}], \"mean\": {}, \"std\": {}, \"paper\": {}}}",
                        i ? ", " : "", r.arm.name, r.arm.label, vals, num(s.mean(), true), num(s.std(), s.values.size() > 1),
                        num(r.paper, true));
    names.push_back(r.arm.label);
    means.push_back(s.mean());
    stds.push_back(s.std());
    none.push_back(std::nan(""));
  }
  json += "], \"failed\": [";
  for (size_t i = 0; i < failures.size(); ++i) json += fmt::format("{}\"{}\"", i ? ", " : "", json_escape(failures[i]));
  json += "]}\n";
  std::string claims = seeds > 1 ? "the paper's claims, here (a difference within one standard deviation is a tie):\n"
                                     : "the paper's claims, here (one seed: no spread is known, so any difference counts):\n";
  std::string md_claims;
  for (auto& cl : paper_claims()) {
    if (results[cl.better].values.empty() || results[cl.worse].values.empty()) continue;
    const Stats &a = results[cl.better], &b = results[cl.worse];
    double d = a.mean() - b.mean(), noise = std::max(a.std(), b.std());
    std::string verdict = d > noise && d > 0 ? "reproduced" : (d < -noise && d < 0 ? "NOT reproduced (reversed)" : "tie");
    std::string line = fmt::format("{} vs {}: {:+.2f} -> {}   (paper: {})", cl.better, cl.worse, d, verdict, cl.paper);
    claims += "  " + line + "\n";
    md_claims += "- " + line + "\n";
  }
  table += "(pretraining data: A = shapes_a, B = shapes_b; fine-tuning and evaluation on shapes_c)\n";
  std::printf("\n== paper-ablations: %s\n%s\n%s", title.c_str(), table.c_str(), claims.c_str());
  std::printf("(paper numbers: VOC mIoU after real-scale pretraining, mdp-method.md §4 and §7; compare orderings, not values)\n");
  write_text_atomically((fs::path(work) / "results.json").string(), json);
  write_text_atomically((fs::path(work) / "results.md").string(),
                        "### " + title + "\n\n" + md +
                            "\nPretraining data: A = shapes_a, B = shapes_b; fine-tuning and evaluation on shapes_c.\n\n" + md_claims +
                            fmt::format("\n{} minutes (this invocation; finished steps are reused); command: mdp experiment "
                                        "paper-ablations{}{}{} --threads {}\n",
                                        int(std::lround(minutes)), quick ? " --quick" : "",
                                        p.has("--seeds") ? " --seeds " + p.str("--seeds") : "",
                                        p.has("--arms") ? " --arms " + p.str("--arms") : "", sc.threads));
  write_bar_chart((fs::path(work) / "ablations.svg").string(), title, names, means, stds, none, "");
  std::printf("results: %s, %s, %s (%.1f minutes)\n", (fs::path(work) / "results.md").c_str(),
              (fs::path(work) / "results.json").c_str(), (fs::path(work) / "ablations.svg").c_str(), minutes);
  for (auto& f : failures) std::fprintf(stderr, "paper-ablations: FAILED %s\n", f.c_str());
  return failures.empty() ? 0 : 1;
}

}  // namespace mdp::apps
