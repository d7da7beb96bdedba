// cli.h: a small command-line parser for the mdp subcommands: named options with a value, flags,
// repeatable options (--set), defaults and help text. Unknown options, missing values and bad numbers
// are errors that name the option. Not a general library: exactly what the subcommands need.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace mdp::cli {

// A mistake on the command line (unknown option, missing value, bad number): the mdp command exits 2
// for these, 1 for errors found while running (README, "Exit codes").
struct UsageError : Error {
  using Error::Error;
};

struct Option {
  std::string name;         // "--batch"
  std::string value_name;   // "B"; empty for a flag
  std::string help;
  std::string default_value;
  bool repeatable = false;
};

class Parser {
 public:
  Parser(std::string command, std::string summary, std::vector<Option> options);
  // Parses argv[first..]; returns false when --help was given (help() has been printed).
  bool parse(int argc, char** argv, int first);
  std::string help() const;

  bool has(const std::string& name) const;  // given on the command line (or a flag set)
  std::string str(const std::string& name) const;  // value or default
  int64_t integer(const std::string& name) const;  // throws naming the option when not an integer
  double number(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;  // a repeatable option's values

 private:
  const Option& find(const std::string& name) const;
  std::string command_, summary_;
  std::vector<Option> options_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace mdp::cli
