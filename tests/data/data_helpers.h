// data_helpers.h: what the data suites share: where the sample files are, a temporary directory that
// removes itself, byte-level file helpers and an mdp::Error message matcher. Test code only.
#pragma once
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "data/image.h"
#include "tensor/error.h"

namespace mdp::data::test {

namespace fs = std::filesystem;

// Tests run from the repository root (CTest's WORKING_DIRECTORY); $MDP_SHARED_DATA overrides.
inline fs::path data_dir() {
  const char* env = std::getenv("MDP_SHARED_DATA");
  return env ? fs::path(env) : fs::path("../shared/data");
}
inline std::string sample(const std::string& rel) { return (data_dir() / rel).string(); }

// A fresh directory (unique per process and per instance) removed afterwards.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("mdp_test_" + tag + "." + std::to_string(::getpid()) + "." + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void spit(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline void copy_file(const std::string& from, const std::string& to) { spit(to, slurp(from)); }

// A predicate for BOOST_CHECK_EXCEPTION: the message contains every fragment.
inline auto mentions(std::vector<std::string> fragments) {
  return [fragments](const mdp::Error& e) {
    std::string msg = e.what();
    BOOST_TEST_MESSAGE("error: " << msg);
    for (const auto& f : fragments)
      if (msg.find(f) == std::string::npos) {
        BOOST_TEST_MESSAGE("expected '" << f << "' in: " << msg);
        return false;
      }
    return true;
  };
}

template <class T>
std::set<T> distinct(const std::vector<T>& v) {
  return std::set<T>(v.begin(), v.end());
}

}  // namespace mdp::data::test
