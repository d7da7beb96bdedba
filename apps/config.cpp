// config.cpp: schema checks over yaml-cpp.
#include "apps/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace mdp::apps {
namespace {
const char* type_name(Type t) {
  switch (t) {
    case Type::Int: return "integer";
    case Type::Float: return "number";
    case Type::Bool: return "boolean";
    case Type::String: return "string";
    case Type::IntList: return "list of integers";
    case Type::FloatList: return "list of numbers";
    case Type::StringList: return "list of strings";
  }
  return "?";
}

// A string as a double-quoted YAML scalar: quotes, backslashes and control characters escaped, so that
// the canonical text (and the resolved config written from it) reads back as the same string.
std::string quoted(const std::string& v, const std::string& key, const std::string& origin) {
  YAML::Emitter e;
  e << YAML::DoubleQuoted << v;
  MDP_CHECK(e.good(), "config {}: key '{}': the string cannot be written back as YAML ({})", origin, key, e.GetLastError());
  return e.c_str();
}

// Checks that node fits type; returns its canonical text.
std::string canonical(const YAML::Node& n, Type t, const std::string& key, const std::string& origin) {
  auto fail = [&]() -> std::string {
    std::ostringstream os;
    os << n;
    const char* name = type_name(t);
    throw Error(fmt::format("config {}: key '{}' must be {} {}, got '{}'", origin, key, name[0] == 'i' ? "an" : "a", name, os.str()));
  };
  auto scalar_ok = [&](const YAML::Node& s, Type st) {
    if (!s.IsScalar()) return false;
    try {
      if (st == Type::Int) s.as<int64_t>();
      else if (st == Type::Float) s.as<double>();
      else if (st == Type::Bool) s.as<bool>();
      else s.as<std::string>();
      return true;
    } catch (const YAML::Exception&) {
      return false;
    }
  };
  if (t == Type::IntList || t == Type::FloatList || t == Type::StringList) {
    if (!n.IsSequence()) return fail();
    Type et = t == Type::IntList ? Type::Int : t == Type::FloatList ? Type::Float : Type::String;
    std::string r = "[";
    for (size_t i = 0; i < n.size(); ++i) {
      if (!scalar_ok(n[i], et)) return fail();
      std::string v = n[i].as<std::string>();
      r += (i ? ", " : "") + (et == Type::String ? quoted(v, key, origin) : v);
    }
    return r + "]";
  }
  if (!scalar_ok(n, t)) return fail();
  if (t == Type::Bool) return n.as<bool>() ? "true" : "false";
  std::string v = n.as<std::string>();
  return t == Type::String ? quoted(v, key, origin) : v;
}

void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, YAML::Node>>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it)
      flatten(it->second, prefix.empty() ? it->first.as<std::string>() : prefix + "." + it->first.as<std::string>(), out);
  } else {
    out.emplace_back(prefix, n);
  }
}
}  // namespace

Config::Config(std::vector<Key> schema) : schema_(std::move(schema)) {
  for (const Key& k : schema_) assign(k.name, k.value, "defaults");
}

const Key& Config::key(const std::string& name) const {
  for (const Key& k : schema_) if (k.name == name) return k;
  std::string near;
  for (const Key& k : schema_)
    if (k.name.substr(k.name.rfind('.') + 1) == name.substr(name.rfind('.') + 1)) near = k.name;
  throw Error(fmt::format("config: unknown key '{}'{}", name, near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
}

void Config::assign(const std::string& name, const std::string& value, const std::string& origin) {
  const Key* found = nullptr;
  try {
    found = &key(name);
  } catch (const Error& e) {  // "config: unknown key ..." -> "config <origin>: unknown key ..."
    throw Error(fmt::format("config {}: {}", origin, std::string(e.what()).substr(8)));
  }
  const Key& k = *found;
  YAML::Node n;
  try {
    n = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("config {}: key '{}': cannot parse '{}' ({})", origin, name, value, e.what()));
  }
  if (k.type == Type::String && n.IsNull()) n = YAML::Node(std::string());
  values_[name] = canonical(n, k.type, name, origin);
}

void Config::load_string(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("config {}: not valid YAML: {}", origin, e.what()));
  }
  if (root.IsNull()) return;
  MDP_CHECK(root.IsMap(), "config {}: the top level must be a mapping of sections", origin);
  std::vector<std::pair<std::string, YAML::Node>> flat;
  flatten(root, "", flat);
  for (auto& [name, node] : flat) {
    try {
      key(name);
    } catch (const Error& e) {
      throw Error(fmt::format("config {}: {}", origin, std::string(e.what()).substr(8)));
    }
    YAML::Emitter e;
    e << YAML::Flow << node;
    assign(name, e.c_str(), origin);
  }
}

void Config::load_file(const std::string& path) {
  std::ifstream in(path);
  MDP_CHECK(in.good(), "config: cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  load_string(ss.str(), "'" + path + "'");
}

void Config::set(const std::string& a) {
  size_t eq = a.find('=');
  MDP_CHECK(eq != std::string::npos && eq > 0, "--set: '{}' is not key=value", a);
  assign(a.substr(0, eq), a.substr(eq + 1), "--set");
}

namespace {
YAML::Node node_of(const std::map<std::string, std::string>& v, const std::string& k) { return YAML::Load(v.at(k)); }
}  // namespace

int64_t Config::i(const std::string& k) const { key(k); return node_of(values_, k).as<int64_t>(); }
double Config::f(const std::string& k) const { key(k); return node_of(values_, k).as<double>(); }
bool Config::b(const std::string& k) const { key(k); return node_of(values_, k).as<bool>(); }
std::string Config::s(const std::string& k) const { key(k); return node_of(values_, k).as<std::string>(); }
std::vector<int64_t> Config::il(const std::string& k) const { key(k); return node_of(values_, k).as<std::vector<int64_t>>(); }
std::vector<double> Config::fl(const std::string& k) const { key(k); return node_of(values_, k).as<std::vector<double>>(); }
std::vector<std::string> Config::sl(const std::string& k) const {
  key(k);
  return node_of(values_, k).as<std::vector<std::string>>();
}

std::string Config::yaml() const {
  std::string out, section;
  for (const Key& k : schema_) {
    size_t dot = k.name.find('.');
    std::string sec = k.name.substr(0, dot), leaf = k.name.substr(dot + 1);
    if (sec != section) {
      out += sec + ":\n";
      section = sec;
    }
    out += fmt::format("  {}: {}  # {}\n", leaf, values_.at(k.name), k.help);
  }
  return out;
}

std::string Config::keys_help() const {
  std::string out;
  for (const Key& k : schema_) out += fmt::format("  {:<30} {:<16} {:<22} {}\n", k.name, type_name(k.type), k.value, k.help);
  return out;
}

}  // namespace mdp::apps
