// device.h: where a tensor's storage lives: the CPU or one CUDA device. A run-time value, like dtype.
#pragma once
#include <string>

namespace mdp {

struct Device {
  enum Kind : uint8_t { CPU, CUDA };
  Kind kind = CPU;
  int index = 0;

  static Device cpu() { return {CPU, 0}; }
  static Device cuda(int i = 0) { return {CUDA, i}; }
  bool is_cpu() const { return kind == CPU; }
  bool is_cuda() const { return kind == CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && (kind == CPU || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return kind == CPU ? "cpu" : "cuda:" + std::to_string(index); }
  // Parses "cpu", "cuda", "cuda:N"; throws std::invalid_argument naming the text otherwise.
  static Device parse(const std::string& s);
};

}  // namespace mdp
