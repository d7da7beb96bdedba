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

// The configs of one experiment scale: the pretraining and fine-tuning YAML (complete configs for
// `mdp pretrain` / `mdp train`), written next to the results.
struct ExperimentScale {
  std::string pretrain_yaml, finetune_yaml;
  int threads = 2;
};

struct ArmOutcome {
  double miou = 0;  // validation mIoU of the fine-tuned model, in %
  std::string finetune_dir, pretrain_dir;
};

// Runs arm `a` with seed `seed` under `dir` (dir/pretrain, dir/finetune); throws when a step fails.
ArmOutcome run_arm(const ArmSpec& a, const ExperimentScale& s, int seed, const std::string& dir);

int experiment_main(int argc, char** argv);

}  // namespace mdp::apps
