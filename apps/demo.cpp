// demo.cpp: `mdp demo`: with no downloads and no arguments, the MDP story in a few minutes on the CPU:
// generate the three-domain dataset, pretrain a small network with MDP on two domains whose label spaces
// differ (shapes_a + shapes_b, concatenated), fine-tune DeepLabV3 on the third (shapes_c) from that
// backbone and, with the same budget, from scratch; print both mIoUs, write predictions and overlays of
// the MDP model, and point to `mdp experiment paper-ablations` for the whole table. Every step is an
// ordinary `mdp` command run with a config written into the work dir, so the demo is also a template.
#include "apps/demo.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <cmath>
#include <vector>

#include "apps/cli.h"
#include "apps/experiment.h"
#include "apps/plot.h"
#include "apps/report.h"
#include "apps/predict.h"
#include "tensor/error.h"

namespace mdp::apps {
namespace fs = std::filesystem;

int demo_main(int argc, char** argv) {
  cli::Parser p("demo", "The embedded default job: MDP pretraining on two generated domains, fine-tuning on a third vs from "
                        "scratch (no downloads, CPU, a few minutes).",
                {{"--work-dir", "DIR", "where everything is written", "work_dirs/demo"},
                 {"--pretrain-iters", "N", "MDP pretraining iterations", "1000"},
                 {"--iters", "N", "fine-tuning iterations (each of the two runs)", "1000"},
                 {"--precision", "P", "fp32 | bf16 (mixed precision)", "fp32"},
                 {"--threads", "N", "CPU threads", "2"}});
  if (!p.parse(argc, argv, 2)) return 0;
  std::string work = p.str("--work-dir");
  fs::create_directories(work);
  // A small network: ResNet-18 at width 1/2, a 64-channel MMSeg head, 64-dim embeddings, 64x64 scenes.
  GeneratedScale sc;
  sc.pretrain_iters = p.integer("--pretrain-iters");
  sc.finetune_iters = p.integer("--iters");
  sc.precision = p.str("--precision");
  sc.threads = int(p.integer("--threads"));
  MDP_CHECK(sc.pretrain_iters > 0 && sc.finetune_iters > 0, "mdp demo: --pretrain-iters and --iters must be positive");
  MDP_CHECK(sc.precision == "fp32" || sc.precision == "bf16", "mdp demo: --precision must be fp32 or bf16, got '{}'", sc.precision);
  ExperimentScale configs = generated_configs(sc, (fs::path(work) / "data").string());
  std::printf("== mdp demo 1/3: MDP pretraining on shapes_a + shapes_b (6 + 6 classes, concatenated), then fine-tuning on "
              "shapes_c\n");
  ArmOutcome mdp = run_arm({"mdp", "MDP", true, {}}, configs, 0, (fs::path(work) / "mdp").string(), sc.threads);
  std::printf("\n== mdp demo 2/3: the same fine-tuning from scratch (random initialisation)\n");
  ArmOutcome scratch = run_arm({"scratch", "from scratch", false, {}}, configs, 0, (fs::path(work) / "scratch").string(), sc.threads);

  // Predictions of the MDP model for a few validation images.
  std::string weights = (fs::path(mdp.finetune_dir.at("shapes_c")) / ("iter_" + std::to_string(sc.finetune_iters) + ".safetensors")).string();
  std::string images = (fs::path(work) / "data" / "shapes_c" / "images").string();
  std::string sample_dir = (fs::path(work) / "predict_input").string();
  fs::create_directories(sample_dir);
  std::vector<fs::path> vals;
  for (auto& e : fs::directory_iterator(images))
    if (e.path().filename().string().rfind("val_", 0) == 0) vals.push_back(e.path());
  std::sort(vals.begin(), vals.end());
  if (vals.size() > 6) vals.resize(6);
  for (auto& v : vals) fs::copy_file(v, fs::path(sample_dir) / v.filename(), fs::copy_options::overwrite_existing);
  std::printf("\n== mdp demo 3/3: label maps and overlays for %zu validation images (MDP model)\n", vals.size());
  int rc = run_command({"mdp", "predict", "--checkpoint", weights, "--input", sample_dir, "--output", (fs::path(work) / "predictions").string(),
                "--model", "deeplabv3-mmseg", "--num-classes", "5", "--depth", std::to_string(sc.depth), "--width",
                fmt::format("{}", sc.width), "--channels", std::to_string(sc.channels),
                "--no-resize", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", "--overwrite"},
               predict_main);
  if (rc != 0) return rc;
  const std::string report = (fs::path(work) / "report.html").string();
  write_report({.work_dirs = {work}, .output = report, .title = "mdp demo"});
  write_bar_chart((fs::path(work) / "comparison.svg").string(),
                  fmt::format("shapes_c mIoU (%) after {} fine-tuning iterations", sc.finetune_iters), {"from scratch", "from MDP"},
                  {scratch.miou.at("shapes_c"), mdp.miou.at("shapes_c")}, {0, 0}, {std::nan(""), std::nan("")}, "");
  std::printf("\n== mdp demo: shapes_c validation mIoU after %ld fine-tuning iterations:\n"
              "  from scratch   %6.2f\n"
              "  from MDP       %6.2f   (%+.2f; MDP pretraining: %ld iterations on shapes_a + shapes_b)\n\n"
              "Everything is in %s:\n"
              "  mdp/pretrain/         MDP run: log.jsonl, curves.svg, prototypes.svg (class prototypes of both domains,\n"
              "                        grouped by domain: which classes MDP found close), backbone.safetensors\n"
              "  mdp/finetune_shapes_c/      fine-tuning from that backbone: log.jsonl, curves.svg, eval.json, weights\n"
              "  scratch/finetune_shapes_c/  the same from scratch\n"
              "  */*_config.yaml       the configs (mdp pretrain|train --config FILE --work-dir DIR)\n"
              "  report.html           all of it on one page: curves overlaid, tables, prototypes, predictions\n"
              "  comparison.svg        the two mIoUs\n"
              "  predictions/          label PNGs (palette) and *_overlay.png of the MDP model\n"
              "  data/                 the generated three-domain dataset\n"
              "next: mdp experiment paper-ablations   (the paper's baselines and ablations on these domains, about an hour;\n"
              "      --quick for a first look)\n",
              long(sc.finetune_iters), scratch.miou.at("shapes_c"), mdp.miou.at("shapes_c"),
              mdp.miou.at("shapes_c") - scratch.miou.at("shapes_c"), long(sc.pretrain_iters), work.c_str());
  std::printf("report: %s\n", report.c_str());
  return 0;
}

}  // namespace mdp::apps
