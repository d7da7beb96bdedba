// config.h: run configurations for `mdp train` and `mdp pretrain`. A config is a YAML file of nested
// sections whose every key is declared in a schema with a type, a default and a help line; keys are
// addressed with dots ("train.lr"). Unknown keys and values of the wrong type are errors that name the
// key (and the file); `--set key=value` overrides after loading, with the same checks. The resolved
// config (every key, defaults included) is written back as YAML into the work dir.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace mdp::apps {

enum class Type { Int, Float, Bool, String, IntList, FloatList, StringList };

struct Key {
  std::string name;   // "train.lr"
  Type type;
  std::string value;  // default, in YAML flow syntax ("0.01", "[512, 512]", "voc")
  std::string help;
};

class Config {
 public:
  explicit Config(std::vector<Key> schema);
  void load_file(const std::string& path);               // merges the file over the defaults
  void load_string(const std::string& yaml, const std::string& origin);
  void set(const std::string& assignment);               // "key=value" (value in YAML syntax)

  int64_t i(const std::string& key) const;
  double f(const std::string& key) const;
  bool b(const std::string& key) const;
  std::string s(const std::string& key) const;
  std::vector<int64_t> il(const std::string& key) const;
  std::vector<double> fl(const std::string& key) const;
  std::vector<std::string> sl(const std::string& key) const;

  const std::map<std::string, std::string>& values() const { return values_; }  // key -> canonical value
  std::string yaml() const;       // the resolved config, sections nested, help as comments
  std::string keys_help() const;  // every key with type, default and help (for --help)

 private:
  const Key& key(const std::string& name) const;
  void assign(const std::string& name, const std::string& value, const std::string& origin);
  std::vector<Key> schema_;
  std::map<std::string, std::string> values_;  // canonical YAML scalar/flow text per key
};

}  // namespace mdp::apps
