// experiment.h: `mdp experiment paper-ablations`, the paper's protocol on the generated benchmark, and
// the pieces `mdp demo` shares with it. One "arm" is an optional pretraining run (`mdp pretrain` with
// overrides) followed, for each downstream domain, by fine-tuning (`mdp train` from the pretrained
// backbone, its curves on the val split, its reported mIoU on the test split through `mdp eval`) and a
// linear probe (a BN + 1x1 classifier trained on the frozen backbone). Every step is an ordinary mdp
// command run in-process with a config written into the work dir, so each arm can be rerun by hand, and
// a finished step is not run again (an interrupted step resumes), so an experiment continues where it
// stopped.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace mdp::apps {

struct ArmSpec {
  std::string name;                       // directory name, "mdp-no-mixing"
  std::string label;                      // table row, "MDP without mixing"
  bool pretrain = true;                   // false: fine-tune from random initialisation (scratch)
  std::vector<std::string> pretrain_set;  // --set overrides of the pretraining config
};

// The sizes of a run on the generated domains.
struct GeneratedScale {
  std::string family = "shapes";                // shapes (the demo's shapes_a..c) | world (paper-ablations)
  int64_t image = 64;                           // generated image side and crop
  int64_t train_images = 240, val_images = 60;  // per domain (world_i has 8 times the training images)
  int64_t test_images = 0;                      // > 0: fine-tunes are reported on the test split
  int64_t batch = 8, pretrain_iters = 600, finetune_iters = 600, probe_iters = 0;  // probe 0: no linear probe
  int64_t eval_points = 1;                      // validation evaluations per fine-tune (curves)
  int depth = 18;
  double width = 0.5;
  int64_t channels = 64, dim = 64;
  std::string optimizer = "sgd";                // of pretraining and fine-tuning
  double lr = 0.05, min_lr = 0.0005, weight_decay = 0.0005;  // of fine-tuning (and pretraining unless pretrain_lr > 0)
  double pretrain_lr = 0;
  int64_t warmup_iters = 0;
  bool scale_to_run = false;                    // MDP's key momentum and queue from the run's length
  std::string precision = "fp32";
  int threads = 2;  // not in the configs: passed to each run (it changes speed, not results)
};

// The configs of one scale: complete YAML for `mdp pretrain`, `mdp train` (fine-tuning, the domain set per
// run) and the linear probe; the downstream domains and the pretraining domains' names.
struct ExperimentScale {
  std::string pretrain_yaml, finetune_yaml, probe_yaml;
  std::vector<std::string> downstream;
  bool report_test = false;  // reported numbers from the test split (else the val split)
};
ExperimentScale generated_configs(const GeneratedScale& s, const std::string& data_root);

struct ArmOutcome {
  std::map<std::string, double> miou, probe;  // per downstream domain, in %
  std::map<std::string, std::string> finetune_dir;
  std::string pretrain_dir;
};

// Runs arm `a` with seed `seed` under `dir` (dir/pretrain, dir/finetune_<domain>, dir/probe_<domain>);
// throws when a step fails. A step already done with the same config is not run again; one done with
// another config is redone.
ArmOutcome run_arm(const ArmSpec& a, const ExperimentScale& s, int seed, const std::string& dir, int threads);

// Runs an mdp subcommand in-process: fn is its main, args its argv ("mdp", "<command>", options...).
int run_command(std::vector<std::string> args, int (*fn)(int, char**));

int experiment_main(int argc, char** argv);

}  // namespace mdp::apps
