// common.h: what the training commands share: opening the configured dataset, the data pipelines,
// building the segmentation model, the work dir, the JSONL log, stop signals (SIGINT/SIGTERM ask the
// loop to checkpoint and exit). Inference and evaluation are the
// library's (mdp/evaluation.h).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "apps/config.h"
#include "apps/schema.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "mdp/evaluation.h"
#include "nn/checkpoint.h"
#include "nn/run_state.h"
#include "nn/deeplabv3.h"
#include "nn/distributed.h"
#include "nn/tensorboard.h"
#include "mdp/json.h"

namespace mdp::apps {

class Progress;

// The dataset of one kind (voc, ..., folder, generated) under root, for a split; the rest comes from the
// config c. For "generated", the domain `domain` of the generated dataset under root, written first if
// the root has none (data.seed, data.generated_size, data.generated_images). For "folder", root's
// layout.txt with the data.image_dir, ... keys over it (or the keys alone without that file).
std::shared_ptr<data::Dataset> open_dataset(const Config& c, const std::string& kind, const std::string& root,
                                            const std::string& split, const std::string& domain = "");
// training: with data.repeat > 1 the split is repeated (RepeatDataset).
std::shared_ptr<data::Dataset> open_split(const Config& c, const std::string& split, bool training = false);
data::PipelineOptions train_pipeline_of(const Config& c);
data::PipelineOptions test_pipeline_of(const Config& c);

nn::DeepLabV3Config seg_model_config(const Config& c, int num_classes);
// What a weights file says about its model, in its safetensors metadata: every model.* key but
// model.pretrained, and model.num_classes. mdp predict builds the model from it.
std::map<std::string, std::string> model_metadata(const Config& c, int num_classes);
// The model.* config (schema model_keys()) and class count a weights file's metadata describes; false
// when the file has none (a torchvision export, or a checkpoint of an older mdp).
bool model_from_metadata(const std::map<std::string, std::string>& metadata, Config& model, int& num_classes);
nn::ResNetConfig backbone_config(const Config& c);
// Loads model.pretrained into the model's backbone: a file with "backbone." names (an MDP or mdp train
// checkpoint) loads its backbone part; a bare ResNet state dict (torchvision ImageNet weights) loads
// with the prefix added. Prints what was loaded and what was not.
void load_pretrained_backbone(nn::Module& model, const std::string& path);

// The start shared by the training commands (train, pretrain): their options --config, --set, --work-dir,
// --resume, --stop-after, --help-keys are parsed, and the config is loaded: the checkpoint's when
// resuming, then the --config file, then each --set. Returns false when only help was printed.
struct RunSetup {
  std::string work;
  bool resume = false;
  int64_t stop_after = 0;
  nn::RunState resumed;  // when resuming
};
bool setup_run(const char* command, const char* summary, const char* default_work_dir, int argc, char** argv, Config& c,
               RunSetup& run);

// After iteration `it` (1-based) of a run that resumed after `start` iterations: a checkpoint is due at the
// interval, at the last iteration and whenever the run ends early (a stop signal, or --stop-after
// reached); exit_code >= 0 ends the run there with that code (128 + signal, or 0).
int stop_signal();  // 0, SIGINT or SIGTERM (install_stop_signals() below)
struct AfterIteration {
  bool checkpoint = false;
  int exit_code = -1;
};
// `signal` is the stop signal the run acts on (a distributed run: the one every rank saw, stop_signal_of_all()).
AfterIteration after_iteration(const RunSetup& run, int64_t start, int64_t it, int64_t iters, int64_t checkpoint_every,
                               int signal = stop_signal());
// Says why the run ended early and how to continue it.
void report_early_end(const char* command, const AfterIteration& a, int64_t it, int64_t start);

// Distributed runs (mpirun), before the training loop: the ranks meet at agreement points, each with its
// error (empty: none). mdp's main calls agree_or_exit with the message when a rank fails before
// finish_setup(), so that call meets the others at their next point. When any rank failed, the lowest
// failing rank prints its message once and every rank exits with code 1. After finish_setup() an error
// ends every rank at once (ProcessGroup::abort) and names its rank. With one process both return at once.
void agree_or_exit(const char* command, const std::string& error);
void finish_setup(const char* command);
bool setup_finished();
// The distributed world of a training command, joined at its start; on ranks other than 0, stdout is
// silenced (rank 0 prints, logs and writes the work dir; errors still reach stderr).
nn::ProcessGroup& join_world();
// The start of a training command on every rank, once its config is resolved: checks model.norm, waits
// until every rank has looked at the work dir, then rank 0 creates it and writes config.yaml; sets the
// thread count and returns the rank's device (train.device; "cuda" without an index: in a distributed
// run the GPU of the rank's index on its machine), its NCCL communicator opened when it is a GPU.
Device start_on_ranks(const char* command, const Config& c, const std::string& work, nn::ProcessGroup& world);

void prepare_work_dir(const std::string& dir);  // creates it; throws naming it when not writable
void append_line(const std::string& path, const std::string& line);
// A run's log on rank 0: log.jsonl in the work dir (a resumed run's trimmed to `start` first: what was
// logged after the checkpoint runs again) and, with train.tensorboard, every number of each line as a
// TensorBoard scalar (tag = its key, step = its "iter") in an event file beside it (nn/tensorboard.h).
class RunLog {
 public:
  RunLog(const std::string& work, bool resume, int64_t start, bool tensorboard);
  void write(const Json& line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<nn::TensorBoardWriter> tensorboard_;
};
// log.jsonl of a resumed run: drops the lines of iterations after `last_iter` (they run again).
void trim_log(const std::string& path, int64_t last_iter);
// The (iteration, value) pairs of one key over the whole log (resumed parts included), for plots.
struct LogSeries {
  std::vector<double> iters, values;
};
LogSeries read_log_series(const std::string& path, const std::string& key);
// Every number-valued key of the log at once (mdp report), by key; lines that are not JSON are skipped as above.
std::map<std::string, LogSeries> read_log(const std::string& path);
std::string read_text(const std::string& path);  // the whole file; "" when it cannot be read

void install_stop_signals();
// The stop signal any rank of the world received (one collective), so that every rank stops at the same
// iteration; stop_signal() with one process.
int stop_signal_of_all(nn::ProcessGroup& world);

}  // namespace mdp::apps
