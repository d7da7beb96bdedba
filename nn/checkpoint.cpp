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

}  // namespace mdp::nn
