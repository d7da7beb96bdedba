// checkpoint.cpp: weights and training state through tensor/tensor_file.h.
#include "nn/checkpoint.h"

#include <filesystem>

#include "tensor/error.h"
#include "tensor/tensor_file.h"

namespace mdp::nn {

void save_weights(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata) {
  TensorFile f;
  for (auto& [n, t] : model.state_dict()) f.tensors[n] = t;
  f.metadata = metadata;
  f.metadata["format"] = "mdp-weights";
  save_tensor_file(path, f);
}

std::string LoadReport::str() const {
  std::string s;
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    s += fmt::format("{} ({}):", what, v.size());
    for (size_t i = 0; i < v.size() && i < 20; ++i) s += "\n  " + v[i];
    if (v.size() > 20) s += fmt::format("\n  ... and {} more", v.size() - 20);
    s += "\n";
  };
  list("missing in the file", missing);
  list("unexpected in the file", unexpected);
  list("shape mismatch", shape_mismatch);
  return s;
}

LoadReport load_weights(Module& model, const std::string& path, const LoadOptions& o) {
  MDP_CHECK(std::filesystem::exists(path), "load_weights: checkpoint '{}' does not exist", path);
  TensorFile f = load_tensor_file(path);
  std::map<std::string, Tensor> file;
  for (auto& [name, t] : f.tensors) {
    if (name.rfind(o.select_prefix, 0) != 0) continue;
    std::string n = name.substr(o.select_prefix.size());
    for (auto& [from, to] : o.prefix_map)
      if (n.rfind(from, 0) == 0) {
        n = to + n.substr(from.size());
        break;
      }
    bool keep = o.only_prefixes.empty();
    for (auto& p : o.only_prefixes) keep |= n.rfind(p, 0) == 0;
    if (keep) file[n] = t;
  }
  LoadReport r;
  std::map<std::string, Tensor> model_sd;
  for (auto& [n, t] : model.state_dict()) {
    bool keep = o.only_prefixes.empty();
    for (auto& p : o.only_prefixes) keep |= n.rfind(p, 0) == 0;
    if (keep) model_sd[n] = t;
  }
  std::vector<std::pair<Tensor, Tensor>> copies;
  for (auto& [n, t] : model_sd) {
    auto it = file.find(n);
    if (it == file.end()) {
      r.missing.push_back(n);
    } else if (it->second.shape() != t.shape()) {
      r.shape_mismatch.push_back(fmt::format("{}: file {} vs model {}", n, shape_str(it->second.shape()), shape_str(t.shape())));
    } else {
      copies.emplace_back(t, it->second);
      r.loaded.push_back(n);
    }
  }
  for (auto& [n, t] : file) if (!model_sd.count(n)) r.unexpected.push_back(n);
  if (o.strict && (!r.missing.empty() || !r.unexpected.empty() || !r.shape_mismatch.empty()))
    throw Error(fmt::format("load_weights: '{}' does not fit the model (strict):\n{}", path, r.str()));
  NoGradGuard no_grad;
  for (auto& [dst, src] : copies) ops::copy_(dst, ops::to(src, dst.device()));
  return r;
}

void save_training_state(const std::string& path, const TrainingState& s) {
  TensorFile f;
  for (auto& [n, t] : s.optimizer) f.tensors["optimizer." + n] = t;
  std::vector<double> words;
  f.metadata = s.extra;
  f.metadata["format"] = "mdp-training-state";
  f.metadata["version"] = std::to_string(TrainingState::kVersion);
  f.metadata["step"] = std::to_string(s.step);
  std::string rng;
  for (uint64_t w : s.rng.s) rng += std::to_string(w) + ",";
  rng += fmt::format("{},{:a}", s.rng.has_cached_normal ? 1 : 0, s.rng.cached_normal);
  f.metadata["rng"] = rng;
  save_tensor_file(path, f);
}

TrainingState load_training_state(const std::string& path) {
  MDP_CHECK(std::filesystem::exists(path), "load_training_state: '{}' does not exist", path);
  TensorFile f = load_tensor_file(path);
  auto meta = [&](const std::string& k) {
    auto it = f.metadata.find(k);
    MDP_CHECK(it != f.metadata.end(), "load_training_state: '{}' has no '{}' entry (not an mdp training state?)", path, k);
    return it->second;
  };
  MDP_CHECK(meta("format") == "mdp-training-state", "load_training_state: '{}' is a '{}' file, not a training state",
            path, meta("format"));
  MDP_CHECK(meta("version") == std::to_string(TrainingState::kVersion),
            "load_training_state: '{}' has version {}, this build reads version {}", path, meta("version"),
            TrainingState::kVersion);
  TrainingState s;
  s.step = std::stoll(meta("step"));
  std::vector<std::string> parts;
  std::string cur, rng = meta("rng");
  for (char c : rng) {
    if (c == ',') { parts.push_back(cur); cur.clear(); } else cur += c;
  }
  parts.push_back(cur);
  MDP_CHECK(parts.size() == 6, "load_training_state: '{}' has a malformed rng entry", path);
  for (size_t i = 0; i < 4; ++i) s.rng.s[i] = std::stoull(parts[i]);
  s.rng.has_cached_normal = parts[4] == "1";
  s.rng.cached_normal = std::strtod(parts[5].c_str(), nullptr);
  for (auto& [n, t] : f.tensors)
    if (n.rfind("optimizer.", 0) == 0) s.optimizer.emplace_back(n.substr(10), t);
  for (auto& [k, v] : f.metadata)
    if (k != "format" && k != "version" && k != "step" && k != "rng") s.extra[k] = v;
  return s;
}

}  // namespace mdp::nn
