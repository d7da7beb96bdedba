// run_state.cpp: see run_state.h.
#include "run_state.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "../tensor/error.h"
#include "../tensor/tensor_file.h"

namespace mdp::nn {
namespace {
// A generator's state as text: four words, the cached-normal flag and the cached value (hex float, exact).
std::string rng_text(const Generator::State& g) {
  return fmt::format("{},{},{},{},{},{:a}", g.s[0], g.s[1], g.s[2], g.s[3], g.has_cached_normal ? 1 : 0, g.cached_normal);
}

// Reads the fields of one file's metadata, every failure naming the file and the key.
struct Fields {
  const std::string& path;
  const std::map<std::string, std::string>& meta;

  bool has(const std::string& k) const { return meta.count(k) != 0; }
  const std::string& text(const std::string& k) const {
    auto it = meta.find(k);
    MDP_CHECK(it != meta.end(), "run state '{}': no '{}' entry (not a complete mdp run state)", path, k);
    return it->second;
  }
  std::string text_or(const std::string& k, const std::string& fallback) const { return has(k) ? text(k) : fallback; }
  int64_t count(const std::string& k) const {
    const std::string& v = text(k);
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    MDP_CHECK(!v.empty() && *end == '\0' && errno == 0 && n >= 0, "run state '{}': '{}' is '{}', not a count >= 0", path, k,
              v.substr(0, 40));
    return int64_t(n);
  }
  // Four words, or (version 2, and the training generator of version 1) four words, a flag and a value.
  Generator::State rng(const std::string& k) const {
    const std::string& v = text(k);
    std::vector<std::string> parts(1);
    for (char c : v) {
      if (c == ',') parts.emplace_back();
      else parts.back() += c;
    }
    MDP_CHECK(parts.size() == 4 || parts.size() == 6, "run state '{}': '{}' is not a generator state (4 or 6 fields, got {})", path,
              k, parts.size());
    Generator::State g{};
    for (size_t i = 0; i < 4; ++i) {
      char* end = nullptr;
      errno = 0;
      g.s[i] = std::strtoull(parts[i].c_str(), &end, 10);
      MDP_CHECK(!parts[i].empty() && *end == '\0' && errno == 0 && parts[i][0] != '-',
                "run state '{}': '{}' word {} is '{}', not a 64-bit number", path, k, i, parts[i].substr(0, 40));
    }
    if (parts.size() == 6) {
      MDP_CHECK(parts[4] == "0" || parts[4] == "1", "run state '{}': '{}' has a flag '{}', not 0 or 1", path, k, parts[4].substr(0, 8));
      g.has_cached_normal = parts[4] == "1";
      char* end = nullptr;
      g.cached_normal = std::strtod(parts[5].c_str(), &end);
      MDP_CHECK(!parts[5].empty() && *end == '\0', "run state '{}': '{}' has a malformed cached value", path, k);
    }
    return g;
  }
};
}  // namespace

void save_run_state(const std::string& path, const RunState& s) {
  TensorFile f;
  for (auto& [n, t] : s.optimizer) f.tensors["optimizer." + n] = t;
  for (auto& [n, t] : s.bank) {
    MDP_CHECK(n.rfind("bank.", 0) == 0, "save_run_state: bank tensor '{}' does not start with 'bank.'", n);
    f.tensors[n] = t;
  }
  f.metadata = {{"format", "mdp-training-state"},
                {"version", std::to_string(RunState::kVersion)},
                {"command", s.command},
                {"step", std::to_string(s.step)},
                {"weights", s.weights},
                {"key_weights", s.key_weights},
                {"method", s.method},
                {"config", s.config},
                {"data.epoch", std::to_string(s.data.epoch)},
                {"data.index", std::to_string(s.data.index)},
                {"data.stage", std::to_string(s.data.stage)},
                {"world_size", std::to_string(s.world_size)}};
  for (auto& [name, g] : s.rng) f.metadata["rng." + name] = rng_text(g);
  save_tensor_file(path, f);
}

RunState load_run_state(const std::string& path) {
  MDP_CHECK(std::filesystem::exists(path), "run state '{}' does not exist", path);
  TensorFile f = load_tensor_file(path);
  Fields m{path, f.metadata};
  MDP_CHECK(m.text("format") == "mdp-training-state", "run state '{}' is a '{}' file, not a training state", path,
            m.text("format").substr(0, 40));
  const std::string version = m.text("version");
  MDP_CHECK(version == "1" || version == "2", "run state '{}' has version {}, this build reads versions 1 and 2", path,
            version.substr(0, 20));
  RunState s;
  s.step = m.count("step");
  s.weights = m.text("weights");
  s.config = m.text("config");
  s.data.epoch = m.count("data.epoch");
  s.data.index = m.count("data.index");
  s.data.stage = m.has("data.stage") ? m.count("data.stage") : 0;
  s.key_weights = m.text_or("key_weights", "");
  s.world_size = m.has("world_size") ? m.count("world_size") : 1;
  MDP_CHECK(s.world_size >= 1, "run state '{}': world_size 0 is not a number of ranks", path);
  s.method = m.text_or("method", "");
  for (auto& [n, t] : f.tensors) {
    if (n.rfind("optimizer.", 0) == 0) s.optimizer.emplace_back(n.substr(10), t);
    else if (n.rfind("bank.", 0) == 0) s.bank.emplace_back(n, t);
  }
  if (version == "2") {
    s.command = m.text("command");
    MDP_CHECK(s.command == "train" || s.command == "pretrain", "run state '{}': command '{}' is not train or pretrain", path,
              s.command.substr(0, 40));
    for (auto& [k, v] : f.metadata)
      if (k.rfind("rng.", 0) == 0) s.rng[k.substr(4)] = m.rng(k);
    MDP_CHECK(s.rng.count("default"), "run state '{}': no 'rng.default' entry (the training generator)", path);
    return s;
  }
  // Version 1: the bank was kept among the optimizer's tensors, the generators beside the default one
  // as "mix_rng" / "sample_rng", and only pretrain wrote a method.
  s.command = s.method.empty() ? "train" : "pretrain";
  s.rng["default"] = m.rng("rng");
  if (m.has("mix_rng")) s.rng["mix"] = m.rng("mix_rng");
  if (m.has("sample_rng")) s.rng["sample"] = m.rng("sample_rng");
  NamedTensors optimizer;
  for (auto& [n, t] : s.optimizer) {
    if (n.rfind("bank.", 0) == 0) s.bank.emplace_back(n, t);
    else optimizer.emplace_back(n, t);
  }
  s.optimizer = std::move(optimizer);
  return s;
}

}  // namespace mdp::nn
