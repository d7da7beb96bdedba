// checkpoint.h: model weights and training state on disk, both in the safetensors format.
//  - Weights: one file, the model's state_dict under PyTorch's names; a torchvision state_dict exported
//    to safetensors (tools/export_torchvision.py) loads without renaming.
//  - The state a run resumes from (optimizer, generators, data position, config) is run_state.h's.
// Writes are atomic (temporary file, fsync, rename): a crash leaves the previous file intact.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "module.h"

namespace mdp::nn {

void save_weights(const std::string& path, const Module& model,
                  const std::map<std::string, std::string>& metadata = {});

struct LoadOptions {
  bool strict = true;
  // Only the file's tensors whose names start with this are read, with it removed (e.g. "weights." for a
  // file that also holds other tensors). Applied before prefix_map.
  std::string select_prefix;
  // Prefix rewrites applied to the file's names before matching, e.g. {"", "backbone."} loads a bare
  // ResNet file into a DeepLabV3's backbone; {"backbone.", ""} the other way.
  std::vector<std::pair<std::string, std::string>> prefix_map;
  // Only names starting with one of these (after mapping) are loaded; empty = all.
  std::vector<std::string> only_prefixes;
};

struct LoadReport {
  std::vector<std::string> loaded, missing, unexpected, shape_mismatch;  // mismatch: "name: file [..] vs model [..]"
  std::string str() const;  // a readable list, empty categories omitted
};

// Copies matching tensors into the model (in place, converting dtype, keeping the model's device).
// strict: any missing, unexpected or mis-shaped name throws with the whole list and loads nothing.
LoadReport load_weights(Module& model, const std::string& path, const LoadOptions& options = {});

}  // namespace mdp::nn
