// tensor_file.h: named tensors to and from safetensors files (tensor/safetensors.h does the bytes).
// Loading converts nothing: a tensor keeps the file's dtype; dtypes mdp lacks (F16, I16, I8) are errors.
#pragma once
#include <map>
#include <string>

#include "tensor.h"

namespace mdp {

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  const Tensor& at(const std::string& name) const;  // throws naming the missing tensor
  std::string meta(const std::string& key) const;   // throws naming the missing key
};

TensorFile load_tensor_file(const std::string& path);
void save_tensor_file(const std::string& path, const TensorFile& f);  // atomic (temporary file, fsync, rename)

}  // namespace mdp
