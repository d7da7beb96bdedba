// cli_util.h: running the mdp binary (path in $MDP_BIN) from a test, in a scratch directory.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace mdp::test {

struct Run {
  int rc;
  std::string out;  // stdout and stderr together
};

inline std::string mdp_bin() {
  const char* b = std::getenv("MDP_BIN");
  return b ? b : "mdp";
}

// Runs a shell command line; "{mdp}" is replaced by the binary.
inline Run sh(std::string cmd) {
  for (size_t at; (at = cmd.find("{mdp}")) != std::string::npos;) cmd.replace(at, 5, mdp_bin());
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

inline std::string scratch(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("mdp_cli_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Every *.json and *.jsonl file under dir is strict JSON (no NaN or Infinity): tools/check_json.py.
inline Run check_json(const std::string& dir) {
  return sh("/usr/bin/python3 " + std::string(MDP_SOURCE_DIR) + "/tools/check_json.py " + dir);
}

// "loss" values of log.jsonl by iteration, as written (exact comparison of runs).
inline std::map<int, std::string> losses(const std::string& log) {
  std::map<int, std::string> r;
  std::regex re("\\{\"iter\": (\\d+), \"loss\": ([^,]+),");
  std::string text = read_file(log);
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) r[std::stoi((*it)[1])] = (*it)[2];
  return r;
}

// A tiny supervised run on the generated dataset (shared by several tests).
// Where the browser tests keep their screenshots for a person to look at (MDP_SCREENSHOTS, set by
// tests/apps/CMakeLists.txt to <build>/screenshots).
inline std::string screenshot_dir() {
  const char* d = std::getenv("MDP_SCREENSHOTS");
  std::string dir = d && *d ? d : "/tmp/mdp-screenshots";
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string tiny_train_args(const std::string& work, const std::string& data_root) {
  return " --work-dir " + work + " --set data.root=" + data_root +
         " --set data.generated_images='[16, 4]' --set data.generated_size='[48, 48]' --set data.crop='[48, 48]'"
         " --set data.scale='[96, 48]' --set data.workers=1 --set model.depth=18 --set model.width=0.125"
         " --set model.channels=8 --set train.batch=2 --set train.log_interval=1";
}

}  // namespace mdp::test
