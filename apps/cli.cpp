// cli.cpp: the option parser.
#include "apps/cli.h"

#include <cstdio>

#include "tensor/error.h"

namespace mdp::cli {
namespace {
void usage_check(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}
}  // namespace

Parser::Parser(std::string command, std::string summary, std::vector<Option> options)
    : command_(std::move(command)), summary_(std::move(summary)), options_(std::move(options)) {}

const Option& Parser::find(const std::string& name) const {
  for (const Option& o : options_) if (o.name == name) return o;
  throw UsageError(fmt::format("mdp {}: unknown option '{}' (see mdp {} --help)", command_, name, command_));
}

bool Parser::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    std::string value;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    usage_check(a.rfind("--", 0) == 0, fmt::format("mdp {}: unexpected argument '{}' (options start with --)", command_, a));
    const Option& o = find(a);
    if (o.value_name.empty()) {
      usage_check(eq == std::string::npos, fmt::format("mdp {}: {} is a flag and takes no value", command_, a));
      values_[a] = {"1"};
      continue;
    }
    if (eq == std::string::npos) {
      usage_check(i + 1 < argc, fmt::format("mdp {}: {} needs a value ({})", command_, a, o.value_name));
      value = argv[++i];
    }
    if (o.repeatable) values_[a].push_back(value);
    else values_[a] = {value};
  }
  return true;
}

std::string Parser::help() const {
  std::string s = fmt::format("usage: mdp {} [options]\n\n{}\n\noptions:\n", command_, summary_);
  for (const Option& o : options_) {
    std::string left = o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    std::string right = o.help;
    if (!o.default_value.empty()) right += fmt::format(" (default: {})", o.default_value);
    if (o.repeatable) right += " (repeatable)";
    s += fmt::format("  {:<28} {}\n", left, right);
  }
  return s + fmt::format("  {:<28} {}\n", "--help", "this text");
}

bool Parser::has(const std::string& name) const {
  find(name);
  return values_.count(name) > 0;
}

std::string Parser::str(const std::string& name) const {
  const Option& o = find(name);
  auto it = values_.find(name);
  return it == values_.end() ? o.default_value : it->second.back();
}

int64_t Parser::integer(const std::string& name) const {
  std::string v = str(name);
  size_t used = 0;
  int64_t r = 0;
  try {
    r = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  usage_check(!v.empty() && used == v.size(), fmt::format("mdp {}: {} expects an integer, got '{}'", command_, name, v));
  return r;
}

double Parser::number(const std::string& name) const {
  std::string v = str(name);
  size_t used = 0;
  double r = 0;
  try {
    r = std::stod(v, &used);
  } catch (...) {
    used = 0;
  }
  usage_check(!v.empty() && used == v.size(), fmt::format("mdp {}: {} expects a number, got '{}'", command_, name, v));
  return r;
}

std::vector<std::string> Parser::all(const std::string& name) const {
  find(name);
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace mdp::cli
