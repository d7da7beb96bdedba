// run_state.h: what a training run needs, beyond its weights, to continue exactly where it stopped: one
// typed, versioned record shared by `mdp train` and `mdp pretrain` (and any loop built on the library).
// On disk it is a safetensors file (latest.state.safetensors in a work dir): the optimizer slots and the
// prototype bank as tensors, the rest in the metadata, each field under its own key. Written atomically
// after the weights it names, so it always points at complete files.
// Deliberately not here: the weights themselves (checkpoint.h), the schedule (a function of the step).
//
// Version 2 (this one). Version 1 files (mdp before 2026-12-07: step, rng and string "extras") are read
// and converted; their AdamW state lacks the step count (see Optimizer::load_state).
#pragma once
#include <map>
#include <string>

#include "../tensor/random.h"
#include "module.h"

namespace mdp::nn {

// Where the data stream stands: data::LoaderPosition (the epoch and the index of the next sample in its
// order) and, for sequential pretraining, the stage (the dataset being trained on).
struct DataPosition {
  int64_t epoch = 0, index = 0;
  int64_t stage = 0;
};

struct RunState {
  static constexpr int kVersion = 2;
  std::string command;      // "train" or "pretrain": the command that wrote it (a resume checks it)
  int64_t step = 0;         // iterations done
  std::string weights;      // the trained network's weights, a file name in the work dir
  std::string key_weights;  // MDP's key encoder (empty otherwise)
  std::string method;       // pretrain.method (empty for train)
  std::string config;       // the run's resolved config (YAML)
  DataPosition data;
  NamedTensors optimizer;   // Optimizer::state()
  NamedTensors bank;        // PrototypeBank::state(), names "bank.*" (MDP; empty otherwise)
  std::map<std::string, Generator::State> rng;  // "default" (the training generator), and any the run adds
  int64_t world_size = 1;   // ranks of a distributed run (train.batch is per rank)
};

void save_run_state(const std::string& path, const RunState& s);
// Throws an mdp::Error naming the file and the problem: missing, not a run state, an unknown version, a
// missing or malformed field.
RunState load_run_state(const std::string& path);

}  // namespace mdp::nn
