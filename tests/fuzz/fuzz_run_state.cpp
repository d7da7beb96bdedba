// fuzz_run_state.cpp: the training-state file that `--resume` reads (latest.state.safetensors), through
// nn::load_run_state. What loads must save and load back to the same state; every rejection is an
// mdp::Error naming the file. (The optimizer and the bank check their tensors against the model when a
// resume hands them over: tested in tests/nn and tests/mdp, not here.)
#include <string>

#include "nn/run_state.h"
#include "tensor/error.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using mdp::fuzz::expect;

namespace {

bool same_rng(const Generator::State& a, const Generator::State& b) {
  return a.s == b.s && a.has_cached_normal == b.has_cached_normal;  // the cached value may be a NaN
}

bool same(const nn::RunState& a, const nn::RunState& b) {
  if (a.command != b.command || a.step != b.step || a.weights != b.weights || a.key_weights != b.key_weights ||
      a.method != b.method || a.config != b.config || a.data.epoch != b.data.epoch || a.data.index != b.data.index ||
      a.data.stage != b.data.stage || a.world_size != b.world_size || a.optimizer.size() != b.optimizer.size() ||
      a.bank.size() != b.bank.size() || a.rng.size() != b.rng.size())
    return false;
  for (const auto& [name, g] : a.rng)
    if (!b.rng.count(name) || !same_rng(g, b.rng.at(name))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = fuzz::scratch_dir();
  const std::string path = (dir / "latest.state.safetensors").string();
  fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  nn::RunState s;
  try {
    s = nn::load_run_state(path);
  } catch (const Error& e) {
    fuzz::expect_mentions(e, path);
    return 0;
  }
  const std::string again = (dir / "again.state.safetensors").string();
  nn::save_run_state(again, s);
  expect(same(nn::load_run_state(again), s));
  return 0;
}
