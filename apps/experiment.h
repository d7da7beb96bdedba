// experiment.h: `mdp experiment paper-ablations`, the paper's ablations and baselines reproduced on the
// generated multi-domain data, and the pieces `mdp demo` shares with it: one "arm" is an optional
// pretraining run (`mdp pretrain` with overrides) followed by fine-tuning on the downstream domain
// (`mdp train` from the pretrained backbone) and its validation mIoU. Every step is an ordinary mdp
// command run in-process with a config written into the work dir, so each arm can be rerun by hand, and
// a finished step is not run again (an interrupted step resumes), so an experiment continues where it
// stopped.
#pragma once
#include <string>
#include <vector>

namespace mdp::apps {

struct ArmSpec {
  std::string name;                       // directory name, "mdp-no-mixing"
  std::string label;                      // table row, "MDP without mixing"
  bool pretrain = true;                   // false: fine-tune from random initialisation (scratch)
  std::vector<std::string> pretrain_set;  // --set overrides of the pretraining config
};

// The sizes of a run on the generated domains (pretraining on shapes_a + shapes_b, fine-tuning on shapes_c).
struct GeneratedScale {
  int64_t image = 64;                           // generated image side and crop
  int64_t train_images = 240, val_images = 60;  // per domain
  int64_t batch = 8, pretrain_iters = 600, finetune_iters = 600;
  int depth = 18;
  double width = 0.5;
  int64_t channels = 64, dim = 64;
  std::string precision = "fp32";
  int threads = 2;  // not in the configs: passed to each run (it changes speed, not results)
};

// The configs of one scale: complete YAML for `mdp pretrain` and `mdp train`, written next to the runs.
struct ExperimentScale {
  std::string pretrain_yaml, finetune_yaml;
};
ExperimentScale generated_configs(const GeneratedScale& s, const std::string& data_root);

struct ArmOutcome {
  double miou = 0;  // validation mIoU of the fine-tuned model, in %
  std::string finetune_dir, pretrain_dir;
};

// Runs arm `a` with seed `seed` under `dir` (dir/pretrain, dir/finetune); throws when a step fails. A
// step already done with the same config is not run again; one done with another config is redone.
ArmOutcome run_arm(const ArmSpec& a, const ExperimentScale& s, int seed, const std::string& dir, int threads);

// Runs an mdp subcommand in-process: fn is its main, args its argv ("mdp", "<command>", options...).
int run_command(std::vector<std::string> args, int (*fn)(int, char**));

int experiment_main(int argc, char** argv);

}  // namespace mdp::apps
