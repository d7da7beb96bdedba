// fuzz_input.h: what the libFuzzer targets of tests/fuzz share: an input cut into the files of one case,
// a scratch folder to write them into, and `expect`, which turns a broken invariant into a crash that
// libFuzzer records. Readers that take a path are fuzzed through real files (on /dev/shm when it is
// there), so the bytes reach them by the same road a user's file does.
// Not a framework: each target is one LLVMFuzzerTestOneInput that calls the reader and checks what it
// returns; only mdp::Error may come out of a reader, anything else (another exception, a crash, a leak,
// a sanitizer report, a hang past -timeout, an allocation past -rss_limit_mb) is a finding.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace mdp::fuzz {

inline void expect(bool ok) {
  if (!ok) std::abort();
}

// A rejection must say where the bad input came from: its message names `what` (a file, "--set").
inline void expect_mentions(const std::exception& e, const std::string& what) {
  if (std::string(e.what()).find(what) != std::string::npos) return;
  std::fprintf(stderr, "fuzz: the error\n  %s\ndoes not name '%s'\n", e.what(), what.c_str());
  std::abort();
}

// The files of one case are the input's parts, separated by the ASCII record separator 0x1E (which no
// file the readers take contains); every other byte, NUL included, reaches the readers. A missing part
// is empty. tests/fuzz/make_seeds.cpp joins real files the same way.
constexpr char kPartSeparator = '\x1e';

inline std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t parts) {
  std::vector<std::string> out(parts);
  size_t p = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == uint8_t(kPartSeparator) && p + 1 < parts) ++p;
    else out[p] += char(data[i]);
  }
  return out;
}

// A folder of this process's own, emptied for each case and removed when the process exits (/dev/shm
// is memory).
inline const std::filesystem::path& scratch_root() {
  static const std::filesystem::path dir =
      (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path()) /
      ("mdp-fuzz-" + std::to_string(getpid()));
  return dir;
}

inline std::filesystem::path scratch_dir() {
  static const bool registered = [] {
    scratch_root();  // constructed first, so destroyed only after the handler below has run
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_root(), ec);
    });
    return true;
  }();
  (void)registered;
  std::filesystem::remove_all(scratch_root());
  std::filesystem::create_directories(scratch_root());
  return scratch_root();
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  expect(bool(out));
}

}  // namespace mdp::fuzz
