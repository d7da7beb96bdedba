// fuzz_config.cpp: a run config as `mdp train` and `mdp pretrain` read it: part 1 of the input is the
// YAML file, part 2 holds `--set key=value` overrides, one per line (parts as in fuzz_input.h). Both real
// schemas (apps/schema.h) read it. Every rejection is an mdp::Error naming where the bad value came from
// (the file or --set); what is accepted must read back through the typed getters, and the resolved config
// the run writes into its work dir (Config::yaml) must load again to the same values.
#include <sstream>
#include <string>

#include "apps/config.h"
#include "apps/schema.h"
#include "tensor/error.h"
#include "tests/fuzz/fuzz_input.h"

using namespace mdp;
using namespace mdp::apps;
using mdp::fuzz::expect;

namespace {

void read_every_key(const Config& c, const std::vector<Key>& schema) {
  for (const Key& k : schema) {
    switch (k.type) {
      case Type::Int: c.i(k.name); break;
      case Type::Float: c.f(k.name); break;
      case Type::Bool: c.b(k.name); break;
      case Type::String: c.s(k.name); break;
      case Type::IntList: c.il(k.name); break;
      case Type::FloatList: c.fl(k.name); break;
      case Type::StringList: c.sl(k.name); break;
    }
  }
}

void run(const std::vector<Key>& schema, const std::string& yaml, const std::string& sets) {
  Config c(schema);
  try {
    c.load_string(yaml, "'fuzz.yaml'");
  } catch (const Error& e) {
    fuzz::expect_mentions(e, "fuzz.yaml");
    return;
  }
  std::istringstream lines(sets);
  for (std::string line; std::getline(lines, line);) {
    try {
      c.set(line);
    } catch (const Error& e) {
      fuzz::expect_mentions(e, "--set");
    }
  }
  read_every_key(c, schema);
  Config again(schema);
  again.load_string(c.yaml(), "resolved");
  expect(again.values() == c.values());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Key> train = train_schema(), pretrain = pretrain_schema();
  const std::vector<std::string> parts = fuzz::split_parts(data, size, 2);
  run(train, parts[0], parts[1]);
  run(pretrain, parts[0], parts[1]);
  return 0;
}
