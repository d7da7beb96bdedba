// tensor_file.cpp: Tensor <-> safetensors entries.
#include "tensor/tensor_file.h"

#include <cstring>

#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/safetensors.h"

namespace mdp {
namespace {
DType from_code(const std::string& code, const std::string& name, const std::string& path) {
  if (code == "F32") return DType::Float32;
  if (code == "F64") return DType::Float64;
  if (code == "BF16") return DType::BFloat16;
  if (code == "I64") return DType::Int64;
  if (code == "I32") return DType::Int32;
  if (code == "U8") return DType::UInt8;
  if (code == "BOOL") return DType::Bool;
  throw Error(fmt::format("tensor file {}: tensor '{}' has dtype {}, which mdp does not support", path, name, code));
}
const char* to_code(DType t) {
  static const char* codes[] = {"F32", "F64", "BF16", "I64", "I32", "U8", "BOOL"};
  return codes[int(t)];
}
}  // namespace

const Tensor& TensorFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  MDP_CHECK(it != tensors.end(), "tensor file: no tensor named '{}'", name);
  return it->second;
}

std::string TensorFile::meta(const std::string& key) const {
  auto it = metadata.find(key);
  MDP_CHECK(it != metadata.end(), "tensor file: no metadata key '{}'", key);
  return it->second;
}

TensorFile load_tensor_file(const std::string& path) {
  safetensors::File f = safetensors::read(path);
  TensorFile r;
  r.metadata = f.metadata;
  for (auto& [name, e] : f.tensors)
    r.tensors[name] = ops::from_blob_copy(e.bytes.data(), Shape(e.shape.begin(), e.shape.end()), from_code(e.dtype, name, path));
  return r;
}

void save_tensor_file(const std::string& path, const TensorFile& f) {
  safetensors::File out;
  out.metadata = f.metadata;
  for (auto& [name, t0] : f.tensors) {
    Tensor t = ops::contiguous(ops::to(t0, Device::cpu()));
    safetensors::Entry e;
    e.dtype = to_code(t.dtype());
    e.shape.assign(t.shape().begin(), t.shape().end());
    e.bytes.resize(size_t(t.numel()) * t.element_size());
    if (!e.bytes.empty()) std::memcpy(e.bytes.data(), t.raw_data(), e.bytes.size());
    out.tensors.emplace(name, std::move(e));
  }
  safetensors::write(path, out);
}

}  // namespace mdp
