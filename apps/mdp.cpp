// mdp.cpp: the mdp command: one executable for the whole stack, as MMSegmentation's tools/ are one
// script each. Each subcommand lives in its own file; this one dispatches and turns every error into one
// clear message and a non-zero exit (never a stack trace or an abort). Exit codes: 0 done, 1 an error
// while running (bad config, data, file), 2 a usage error (unknown command or option, missing value).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "apps/cli.h"
#include "apps/common.h"
#include "apps/demo.h"
#include "apps/experiment.h"
#include "apps/predict.h"
#include "apps/pretrain.h"
#include "apps/report.h"
#include "apps/train.h"
#include "data/check.h"
#include "nn/distributed.h"
#include "tensor/error.h"

namespace {
const char* kUsage =
    "usage: mdp <command> [options]        (mdp <command> --help for its options)\n\n"
    "commands:\n"
    "  demo       the embedded default: generate a dataset, train a small DeepLabV3, evaluate, predict, plot\n"
    "  pretrain   MDP: pixel-to-prototype pretraining over several datasets, their label spaces concatenated\n"
    "  train      supervised DeepLabV3 training from a YAML config, with evaluation, checkpoints, --resume\n"
    "  eval       mIoU / per-class IoU / aAcc of a checkpoint on the validation split\n"
    "  predict    label PNGs and colour overlays for an image or a directory\n"
    "  bench      time a workload of ../shared/peer/torch_peer.py, print its JSON line\n"
    "  experiment paper-ablations: the paper's baselines and ablations on generated domains, mIoU table\n"
    "  report     one self-contained HTML page of runs and experiments: curves overlaid, tables, predictions\n"
    "  data check verify a dataset's image/label pairs and print its class histogram\n"
    "  help       this text\n"
    "  --version  the version\n";

// "mdp eval: error: mdp eval: x" reads better as "mdp eval: error: x".
std::string without_prefix(const std::string& message, const std::string& cmd) {
  const std::string prefix = "mdp " + cmd + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {  // no command: a usage error
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "demo") return mdp::apps::demo_main(argc, argv);
    if (cmd == "train") return mdp::apps::train_main(argc, argv);
    if (cmd == "eval") return mdp::apps::eval_main(argc, argv);
    if (cmd == "pretrain") return mdp::apps::pretrain_main(argc, argv);
    if (cmd == "predict") return mdp::apps::predict_main(argc, argv);
    if (cmd == "bench") return mdp::apps::bench_main(argc, argv);
    if (cmd == "experiment") return mdp::apps::experiment_main(argc, argv);
    if (cmd == "report") return mdp::apps::report_main(argc, argv);
    if (cmd == "data") {
      std::string sub = argc > 2 ? argv[2] : "";
      if (sub == "--help" || sub == "-h") {
        std::fputs(mdp::data::data_check_usage().c_str(), stdout);
        return 0;
      }
      if (sub != "check") {
        std::fprintf(stderr, "mdp data: unknown subcommand '%s' (mdp data check ...)\n\n%s", sub.c_str(),
                     mdp::data::data_check_usage().c_str());
        return 2;
      }
      std::vector<std::string> args(argv + 3, argv + argc);
      for (auto& a : args)
        if (a == "--help" || a == "-h") {
          std::fputs(mdp::data::data_check_usage().c_str(), stdout);
          return 0;
        }
      return mdp::data::data_check(mdp::data::parse_data_check_args(args), std::cout);
    }
    if (cmd == "--version" || cmd == "version") {
      std::printf("mdp %s\n", MDP_VERSION);
      return 0;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "mdp: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const mdp::cli::UsageError& e) {
    mdp::nn::shutdown_distributed();  // the same usage error on every rank
    std::fflush(stdout);
    std::fprintf(stderr, "mdp %s: error: %s\n", cmd.c_str(), without_prefix(e.what(), cmd).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    const std::string message = without_prefix(e.what(), cmd);
    mdp::nn::ProcessGroup& world = mdp::nn::world();
    if (world.size() > 1) {  // a rank of a distributed run: the others must not wait for it
      if (!mdp::apps::setup_finished()) mdp::apps::agree_or_exit(cmd.c_str(), message);  // reported once, all exit 1
      std::fprintf(stderr, "mdp %s: error on rank %d of %d: %s\n", cmd.c_str(), world.rank(), world.size(), message.c_str());
      std::fflush(stderr);
      world.abort(1);
    }
    std::fprintf(stderr, "mdp %s: error: %s\n", cmd.c_str(), message.c_str());
    return 1;
  }
}
