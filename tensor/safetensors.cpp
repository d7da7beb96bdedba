// safetensors.cpp: the safetensors reader/writer; its JSON header through nlohmann-json.
// See safetensors.h for the format and the checks; every failure is an mdp::Error of the form
// "safetensors: <file>: <problem>".
#include "tensor/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "tensor/error.h"
#include "tensor/json_message.h"

namespace mdp::safetensors {
namespace {

// The reference implementation refuses headers above 100 MB; real headers are a few MB at most.
constexpr uint64_t kMaxHeader = 100ull << 20;
constexpr int kMaxDepth = 64;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw Error(fmt::format("safetensors: {}: {}", file, what));
}

std::string errno_text(int e) { return std::generic_category().message(e); }

// ---------------------------------------------------------------------------------------------
// The header is JSON read by nlohmann-json (strict RFC 8259: UTF-8 validated, \uXXXX with surrogate
// pairs), with two limits of our own checked while it parses: nesting depth, and no duplicate keys
// within an object (nlohmann would keep the last).
using HeaderJson = nlohmann::ordered_json;

HeaderJson parse_json_header(const uint8_t* p, size_t n, const std::string& file) {
  auto bad = [&](const std::string& what) { fail(file, "bad JSON header" + what); };
  if (n == 0 || p[0] != '{') bad(" at byte 0: the header must start with '{'");
  if (const void* nul = std::memchr(p, 0, n))  // JSON has no raw NUL, and nlohmann would stop reading there
    bad(fmt::format(" at byte {}: unexpected byte 0x00", static_cast<const uint8_t*>(nul) - p));
  std::vector<std::set<std::string>> keys;  // of each object being read
  auto check = [&](int depth, HeaderJson::parse_event_t event, HeaderJson& parsed) {
    using E = HeaderJson::parse_event_t;
    if ((event == E::object_start || event == E::array_start) && depth >= kMaxDepth)
      bad(fmt::format(": nesting deeper than {}", kMaxDepth));
    if (event == E::object_start) keys.emplace_back();
    if (event == E::object_end) keys.pop_back();
    if (event == E::key && !keys.back().insert(parsed.get<std::string>()).second)
      bad(fmt::format(": duplicate name \"{}\"", parsed.get<std::string>()));
    return true;
  };
  try {
    return HeaderJson::parse(p, p + n, check);
  } catch (const HeaderJson::parse_error& e) {
    bad(fmt::format(" at byte {}: {}", e.byte == 0 ? 0 : e.byte - 1, json_parse_problem(e.what())));
  } catch (const HeaderJson::exception& e) {  // out_of_range 406: a number beyond a double (found by tests/fuzz)
    bad(fmt::format(": {}", json_parse_problem(e.what())));
  }
  return {};  // (bad() throws)
}

const char* kind_name(const HeaderJson& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number with a fraction or exponent";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// A non-negative integer that fits int64 (safetensors' shapes and offsets).
bool is_size(const HeaderJson& v) {
  return v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return false;
    if (n - i < static_cast<size_t>(len)) return false;
    for (int k = 1; k < len; ++k) {
      uint8_t cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Header validation: turns the JSON into tensor descriptions checked against the data section.

struct Desc {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Desc> tensors;
  std::map<std::string, std::string> metadata;
};

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// product(shape) * elem, or fails on overflow of uint64.
uint64_t byte_size(const std::vector<int64_t>& shape, size_t elem, const std::string& file, const std::string& name) {
  uint64_t n = elem;
  for (int64_t d : shape) {
    uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && n > std::numeric_limits<uint64_t>::max() / ud)
      fail(file, fmt::format("tensor '{}': shape {} is too large", name, shape_str(shape)));
    n *= ud;
  }
  return n;
}

Header parse_header(const uint8_t* json, size_t json_size, uint64_t data_size, const std::string& file) {
  HeaderJson root = parse_json_header(json, json_size, file);
  Header h;
  for (auto& [name, v] : root.items()) {
    if (name == "__metadata__") {
      if (v.is_null()) continue;
      if (!v.is_object()) fail(file, fmt::format("__metadata__ must be an object, not {}", kind_name(v)));
      for (auto& [k, s] : v.items()) {
        if (!s.is_string()) fail(file, fmt::format("__metadata__ value of '{}' must be a string, not {}", k, kind_name(s)));
        h.metadata.emplace(k, s.get<std::string>());
      }
      continue;
    }
    if (!v.is_object()) fail(file, fmt::format("tensor '{}' must be an object, not {}", name, kind_name(v)));
    for (auto& [k, f] : v.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets") fail(file, fmt::format("tensor '{}': unknown field '{}'", name, k));
    for (const char* k : {"dtype", "shape", "data_offsets"})
      if (!v.contains(k)) fail(file, fmt::format("tensor '{}': missing field '{}'", name, k));
    const HeaderJson &dtype = v["dtype"], &shape = v["shape"], &offsets = v["data_offsets"];
    Desc d;
    d.name = name;
    if (!dtype.is_string()) fail(file, fmt::format("tensor '{}': dtype must be a string", name));
    d.dtype = dtype.get<std::string>();
    size_t elem;
    try {
      elem = dtype_bytes(d.dtype);
    } catch (const Error&) {
      fail(file, fmt::format("tensor '{}': unknown dtype '{}'", name, d.dtype));
    }
    if (!shape.is_array()) fail(file, fmt::format("tensor '{}': shape must be an array", name));
    for (const HeaderJson& dim : shape) {
      if (!is_size(dim)) fail(file, fmt::format("tensor '{}': shape entries must be non-negative integers", name));
      d.shape.push_back(dim.get<int64_t>());
    }
    if (!offsets.is_array() || offsets.size() != 2)
      fail(file, fmt::format("tensor '{}': data_offsets must be an array [begin, end]", name));
    for (const HeaderJson& o : offsets)
      if (!o.is_number_unsigned()) fail(file, fmt::format("tensor '{}': data_offsets must be non-negative integers", name));
    d.begin = offsets[0].get<uint64_t>();
    d.end = offsets[1].get<uint64_t>();
    if (d.begin > d.end || d.end > data_size)
      fail(file, fmt::format("tensor '{}': data_offsets [{}, {}] out of range (data section is {} bytes)", name,
                             d.begin, d.end, data_size));
    uint64_t need = byte_size(d.shape, elem, file, name);
    if (d.end - d.begin != need)
      fail(file, fmt::format("tensor '{}': data_offsets [{}, {}] span {} bytes but shape {} of {} needs {}", name,
                             d.begin, d.end, d.end - d.begin, shape_str(d.shape), d.dtype, need));
    h.tensors.push_back(std::move(d));
  }
  // The tensors must tile [0, data_size) exactly.
  std::vector<const Desc*> order;
  for (const Desc& d : h.tensors) order.push_back(&d);
  std::sort(order.begin(), order.end(), [](const Desc* a, const Desc* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  const Desc* prev = nullptr;
  for (const Desc* d : order) {
    if (d->begin < pos)
      fail(file, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev->name, prev->begin, prev->end,
                             d->name, d->begin, d->end));
    if (d->begin > pos)
      fail(file, fmt::format("gap in the data section: bytes [{}, {}) belong to no tensor", pos, d->begin));
    pos = d->end;
    prev = d;
  }
  if (pos != data_size)
    fail(file, fmt::format("trailing bytes: the tensors cover {} bytes of a {}-byte data section", pos, data_size));
  return h;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}

// Checks the 8-byte prefix against the total size; returns the header length.
uint64_t check_prefix(const uint8_t* prefix, uint64_t size, const std::string& file) {
  if (size < 8) fail(file, fmt::format("file is {} bytes, shorter than the 8-byte header length", size));
  uint64_t n = read_le64(prefix);
  if (n > size - 8)
    fail(file, fmt::format("header length {} is beyond the file size ({} bytes after the length)", n, size - 8));
  if (n > kMaxHeader) fail(file, fmt::format("header length {} is above the {}-byte limit", n, kMaxHeader));
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writing.

using Item = std::pair<const std::string, Entry>;

// Validates f, orders its tensors for writing and returns the padded header.
std::string make_header(const File& f, std::vector<const Item*>& order) {
  const std::string who = "serialize";
  for (const Item& it : f.tensors) {
    const auto& [name, e] = it;
    MDP_CHECK(name != "__metadata__", "safetensors: {}: a tensor may not be named __metadata__", who);
    MDP_CHECK(valid_utf8(name), "safetensors: {}: tensor name is not valid UTF-8", who);
    size_t elem;
    try {
      elem = dtype_bytes(e.dtype);
    } catch (const Error&) {
      fail(who, fmt::format("tensor '{}': unknown dtype '{}'", name, e.dtype));
    }
    for (int64_t d : e.shape)
      MDP_CHECK(d >= 0, "safetensors: {}: tensor '{}': negative dimension in shape {}", who, name, shape_str(e.shape));
    uint64_t need = byte_size(e.shape, elem, who, name);
    MDP_CHECK(e.bytes.size() == need, "safetensors: {}: tensor '{}': {} bytes but shape {} of {} needs {}", who, name,
              e.bytes.size(), shape_str(e.shape), e.dtype, need);
    order.push_back(&it);
  }
  for (const auto& [k, v] : f.metadata)
    MDP_CHECK(valid_utf8(k) && valid_utf8(v), "safetensors: {}: metadata '{}' is not valid UTF-8", who, k);
  // Larger elements first keeps every tensor aligned to its element size (the data starts 8-aligned).
  std::stable_sort(order.begin(), order.end(), [](const Item* a, const Item* b) {
    return dtype_bytes(a->second.dtype) > dtype_bytes(b->second.dtype);
  });

  HeaderJson j = HeaderJson::object();
  if (!f.metadata.empty()) j["__metadata__"] = f.metadata;
  uint64_t off = 0;
  for (const Item* it : order) {
    j[it->first] = {{"dtype", it->second.dtype}, {"shape", it->second.shape}, {"data_offsets", {off, off + it->second.bytes.size()}}};
    off += it->second.bytes.size();
  }
  std::string h = j.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  return h;
}

void put_le64(uint8_t* p, uint64_t v) {
  for (int k = 0; k < 8; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

void write_all(int fd, const uint8_t* p, size_t n, const std::string& file) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, 1 << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(file, fmt::format("write failed: {}", errno_text(errno)));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void pread_all(int fd, uint8_t* p, size_t n, uint64_t off, const std::string& file) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, std::min<size_t>(n, 1 << 30), static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      fail(file, fmt::format("read failed: {}", errno_text(errno)));
    }
    if (r == 0) fail(file, fmt::format("unexpected end of file at byte {} (was the file truncated?)", off));
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
}

}  // namespace

size_t dtype_bytes(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"BF16", 2}, {"F16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  auto it = sizes.find(dtype);
  MDP_CHECK(it != sizes.end(), "safetensors: unknown dtype '{}'", dtype);
  return it->second;
}

File parse(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  if (size > 0 && data == nullptr) fail(file, "null buffer");
  uint64_t n = check_prefix(data, size, file);
  const uint8_t* data_section = data + 8 + n;
  Header h = parse_header(data + 8, n, size - 8 - n, file);
  File out;
  out.metadata = std::move(h.metadata);
  for (Desc& d : h.tensors) {
    Entry e;
    e.dtype = std::move(d.dtype);
    e.shape = std::move(d.shape);
    e.bytes.assign(data_section + d.begin, data_section + d.end);
    out.tensors.emplace(std::move(d.name), std::move(e));
  }
  return out;
}

File read(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(path, fmt::format("cannot open: {}", errno_text(errno)));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) fail(path, fmt::format("cannot stat: {}", errno_text(errno)));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint8_t prefix[8] = {};
  if (size >= 8) pread_all(fd.get(), prefix, 8, 0, path);
  uint64_t n = check_prefix(prefix, size, path);
  std::vector<uint8_t> json(n);
  pread_all(fd.get(), json.data(), n, 8, path);
  Header h = parse_header(json.data(), n, size - 8 - n, path);
  File out;
  out.metadata = std::move(h.metadata);
  for (Desc& d : h.tensors) {
    Entry e;
    e.dtype = std::move(d.dtype);
    e.shape = std::move(d.shape);
    e.bytes.resize(d.end - d.begin);
    pread_all(fd.get(), e.bytes.data(), e.bytes.size(), 8 + n + d.begin, path);
    out.tensors.emplace(std::move(d.name), std::move(e));
  }
  return out;
}

std::vector<uint8_t> serialize(const File& f) {
  std::vector<const Item*> order;
  std::string header = make_header(f, order);
  size_t total = 8 + header.size();
  for (const Item* it : order) total += it->second.bytes.size();
  std::vector<uint8_t> out(total);
  put_le64(out.data(), header.size());
  std::memcpy(out.data() + 8, header.data(), header.size());
  size_t pos = 8 + header.size();
  for (const Item* it : order) {
    if (!it->second.bytes.empty()) std::memcpy(out.data() + pos, it->second.bytes.data(), it->second.bytes.size());
    pos += it->second.bytes.size();
  }
  return out;
}

void write(const std::string& path, const File& f) {
  std::vector<const Item*> order;
  std::string header = make_header(f, order);  // validates before anything touches the disk
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(path, fmt::format("cannot create {}: {}", tmp, errno_text(errno)));
  try {
    uint8_t prefix[8];
    put_le64(prefix, header.size());
    write_all(fd.get(), prefix, 8, path);
    write_all(fd.get(), reinterpret_cast<const uint8_t*>(header.data()), header.size(), path);
    for (const Item* it : order) write_all(fd.get(), it->second.bytes.data(), it->second.bytes.size(), path);
    if (::fsync(fd.get()) != 0) fail(path, fmt::format("fsync failed: {}", errno_text(errno)));
    if (::close(fd.release()) != 0) fail(path, fmt::format("close failed: {}", errno_text(errno)));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail(path, fmt::format("cannot rename {} over it: {}", tmp, errno_text(errno)));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) fail(path, fmt::format("cannot open directory {} to fsync it: {}", dir, errno_text(errno)));
  // Some file systems cannot fsync a directory (EINVAL); the rename itself has happened.
  if (::fsync(dfd.get()) != 0 && errno != EINVAL)
    fail(path, fmt::format("fsync of directory {} failed: {}", dir, errno_text(errno)));
}

}  // namespace mdp::safetensors
