// fuzz_safetensors.cpp: a whole .safetensors file (header length, header JSON with its offsets, dtypes,
// shapes and metadata, the data section) through every reader: safetensors::parse from memory,
// safetensors::read and load_tensor_file from a file. What parses must be consistent (each entry's bytes
// match its dtype and shape), must serialize, and must parse back to the same file; what load_tensor_file
// returns must hold the same shapes and bytes. Every rejection is an mdp::Error naming the file.
#include <cstring>
#include <string>

#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "tensor/tensor.h"
#include "tensor/tensor_file.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using mdp::fuzz::expect;

namespace {

bool same(const safetensors::File& a, const safetensors::File& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, e] : a.tensors) {
    auto it = b.tensors.find(name);
    if (it == b.tensors.end() || it->second.dtype != e.dtype || it->second.shape != e.shape || it->second.bytes != e.bytes)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.safetensors";
  bool parsed = false;
  safetensors::File f;
  try {
    f = safetensors::parse(data, size, name);
    parsed = true;
  } catch (const Error& e) {
    fuzz::expect_mentions(e, name);
  }
  if (parsed) {
    for (const auto& [n, e] : f.tensors) {
      size_t numel = 1;
      for (int64_t d : e.shape) {
        expect(d >= 0);
        numel *= size_t(d);
      }
      expect(e.bytes.size() == numel * safetensors::dtype_bytes(e.dtype));
    }
    std::vector<uint8_t> again = safetensors::serialize(f);  // all it parsed it can write
    expect(same(safetensors::parse(again.data(), again.size(), "serialized"), f));
  }

  // The same bytes as a file, through the file reader and the Tensor conversion.
  const std::string path = (fuzz::scratch_dir() / name).string();
  fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    safetensors::File from_file = safetensors::read(path);
    expect(parsed && same(from_file, f));
  } catch (const Error& e) {
    expect(!parsed);
    fuzz::expect_mentions(e, path);
  }
  try {
    TensorFile t = load_tensor_file(path);
    expect(parsed && t.tensors.size() == f.tensors.size() && t.metadata == f.metadata);
    for (const auto& [n, tensor] : t.tensors) {
      const safetensors::Entry& e = f.tensors.at(n);
      expect(tensor.shape() == Shape(e.shape.begin(), e.shape.end()));
      expect(size_t(tensor.numel()) * tensor.element_size() == e.bytes.size());
      expect(e.bytes.empty() || std::memcmp(tensor.raw_data(), e.bytes.data(), e.bytes.size()) == 0);
    }
  } catch (const Error& e) {  // also a dtype safetensors knows and mdp does not (F16, I16, I8)
    fuzz::expect_mentions(e, path);
  }
  return 0;
}
