// safetensors.h: byte-level reader and writer of the safetensors format, with no dependency on Tensor.
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// then the raw little-endian, C-ordered data; offsets are relative to the start of the data section.
// The reader treats every file as hostile: each number is checked before use and every problem throws
// mdp::Error naming the file and the problem (never a crash or an out-of-bounds read). As in the reference
// implementation the tensors must tile the data section exactly: no overlaps, no holes, no trailing bytes.
// The writer orders tensors by decreasing element size, then name, and pads the header with spaces to a
// multiple of 8 bytes, so every tensor's data is aligned to its element size in the file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mdp::safetensors {

struct Entry {
  std::string dtype;  // "F64","F32","BF16","F16","I64","I32","I16","I8","U8","BOOL"
  std::vector<int64_t> shape;  // [] for a scalar
  std::vector<uint8_t> bytes;  // product(shape) * dtype_bytes(dtype) bytes, little-endian, C order
};

struct File {
  std::map<std::string, Entry> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" object
};

// Reads a whole file; the tensors' bytes are read straight into their entries.
File read(const std::string& path);
// Parses an in-memory image of a file; name_for_errors names it in error messages.
File parse(const uint8_t* data, std::size_t size, const std::string& name_for_errors);
// The file image of f. Throws on an unknown dtype, a negative dimension, bytes not matching the shape,
// a tensor named "__metadata__" or a name or string that is not valid UTF-8.
std::vector<uint8_t> serialize(const File& f);
// Writes atomically: path.tmp.<pid> is written and fsynced, renamed over path, then the directory is fsynced.
void write(const std::string& path, const File& f);
// The size of one element of dtype; throws on an unknown dtype.
std::size_t dtype_bytes(const std::string& dtype);

}  // namespace mdp::safetensors
