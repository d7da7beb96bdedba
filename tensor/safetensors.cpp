// safetensors.cpp: the safetensors reader/writer and the small strict JSON parser it needs.
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

#include "tensor/error.h"

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
// JSON: objects, arrays, strings (all escapes, \uXXXX with surrogate pairs, UTF-8 validated),
// integers (no fractions or exponents), true/false/null. Anything else is an error with its byte
// position in the header. Duplicate keys within an object are errors.

struct Json {
  enum Kind { Null, Bool, Int, String, Array, Object } kind = Null;
  size_t pos = 0;           // byte position of the value in the header
  bool boolean = false;
  bool negative = false;    // Int: sign; magnitude in `magnitude`
  uint64_t magnitude = 0;
  std::string str;
  std::vector<Json> items;
  // Object: keys and values in file order, as parallel vectors (a vector of pair<string, Json> would
  // need pair<string, Json> complete inside Json, which clang rejects).
  std::vector<std::string> keys;
  std::vector<Json> values;
};

const char* kind_name(Json::Kind k) {
  switch (k) {
    case Json::Null: return "null";
    case Json::Bool: return "a boolean";
    case Json::Int: return "an integer";
    case Json::String: return "a string";
    case Json::Array: return "an array";
    case Json::Object: return "an object";
  }
  return "?";
}

class Parser {
 public:
  Parser(const uint8_t* p, size_t n, const std::string& file) : p_(p), n_(n), file_(file) {}

  Json parse_document() {
    if (n_ == 0 || p_[0] != '{') error(0, "the header must start with '{'");
    Json v = value(0);
    skip_ws();
    if (i_ != n_) error(i_, fmt::format("unexpected {} after the end of the JSON header", describe(i_)));
    return v;
  }

 private:
  [[noreturn]] void error(size_t at, const std::string& what) const {
    fail(file_, fmt::format("bad JSON header at byte {}: {}", at, what));
  }

  std::string describe(size_t at) const {
    if (at >= n_) return "end of header";
    uint8_t c = p_[at];
    if (c >= 0x20 && c < 0x7f) return fmt::format("character '{}'", static_cast<char>(c));
    return fmt::format("byte 0x{:02x}", c);
  }

  void skip_ws() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }

  void expect(char c) {
    skip_ws();
    if (i_ >= n_ || p_[i_] != static_cast<uint8_t>(c))
      error(i_, fmt::format("expected '{}', found {}", c, describe(i_)));
    ++i_;
  }

  Json value(int depth) {
    if (depth > kMaxDepth) error(i_, fmt::format("nesting deeper than {}", kMaxDepth));
    skip_ws();
    if (i_ >= n_) error(i_, "unexpected end of header, expected a value");
    uint8_t c = p_[i_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      Json v;
      v.kind = Json::String;
      v.pos = i_;
      v.str = string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (literal("true")) return make_bool(true);
    if (literal("false")) return make_bool(false);
    if (literal("null")) {
      Json v;
      v.pos = i_ - 4;
      return v;
    }
    error(i_, fmt::format("unexpected {}, expected a value", describe(i_)));
  }

  bool literal(const char* word) {
    size_t len = std::strlen(word);
    if (n_ - i_ < len || std::memcmp(p_ + i_, word, len) != 0) return false;
    i_ += len;
    return true;
  }

  Json make_bool(bool b) {
    Json v;
    v.kind = Json::Bool;
    v.boolean = b;
    v.pos = i_;
    return v;
  }

  Json object(int depth) {
    Json v;
    v.kind = Json::Object;
    v.pos = i_;
    ++i_;  // '{'
    std::set<std::string> seen;
    skip_ws();
    if (i_ < n_ && p_[i_] == '}') {
      ++i_;
      return v;
    }
    for (;;) {
      skip_ws();
      if (i_ >= n_ || p_[i_] != '"') error(i_, fmt::format("expected a string key, found {}", describe(i_)));
      size_t key_pos = i_;
      std::string key = string();
      if (!seen.insert(key).second) error(key_pos, fmt::format("duplicate name \"{}\"", key));
      expect(':');
      Json member = value(depth + 1);
      v.keys.push_back(std::move(key));
      v.values.push_back(std::move(member));
      skip_ws();
      if (i_ < n_ && p_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < n_ && p_[i_] == '}') {
        ++i_;
        return v;
      }
      error(i_, fmt::format("expected ',' or '}}' in object, found {}", describe(i_)));
    }
  }

  Json array(int depth) {
    Json v;
    v.kind = Json::Array;
    v.pos = i_;
    ++i_;  // '['
    skip_ws();
    if (i_ < n_ && p_[i_] == ']') {
      ++i_;
      return v;
    }
    for (;;) {
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (i_ < n_ && p_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < n_ && p_[i_] == ']') {
        ++i_;
        return v;
      }
      error(i_, fmt::format("expected ',' or ']' in array, found {}", describe(i_)));
    }
  }

  Json number() {
    Json v;
    v.kind = Json::Int;
    v.pos = i_;
    if (p_[i_] == '-') {
      v.negative = true;
      ++i_;
    }
    if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9') error(i_, fmt::format("expected a digit, found {}", describe(i_)));
    size_t first = i_;
    uint64_t m = 0;
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') {
      uint64_t d = p_[i_] - '0';
      if (m > (std::numeric_limits<uint64_t>::max() - d) / 10) error(v.pos, "integer too large");
      m = m * 10 + d;
      ++i_;
    }
    if (p_[first] == '0' && i_ - first > 1) error(first, "leading zeros are not allowed in numbers");
    if (i_ < n_ && (p_[i_] == '.' || p_[i_] == 'e' || p_[i_] == 'E'))
      error(v.pos, "only integers are allowed in a safetensors header");
    v.magnitude = m;
    return v;
  }

  unsigned hex4() {
    if (n_ - i_ < 4) error(i_, "truncated \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k) {
      uint8_t c = p_[i_ + k];
      unsigned d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else error(i_ + k, fmt::format("bad hex digit {} in \\u escape", describe(i_ + k)));
      u = u * 16 + d;
    }
    i_ += 4;
    return u;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At a '"'; returns the decoded string and leaves i_ after the closing quote.
  std::string string() {
    size_t start = i_;
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= n_) error(start, "unterminated string");
      uint8_t c = p_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) error(i_, fmt::format("unescaped control character 0x{:02x} in string", c));
      if (c == '\\') {
        size_t esc = i_;
        ++i_;
        if (i_ >= n_) error(start, "unterminated string");
        uint8_t e = p_[i_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            uint32_t cp = hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) error(esc, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (n_ - i_ < 2 || p_[i_] != '\\' || p_[i_ + 1] != 'u')
                error(esc, "high surrogate not followed by a low surrogate");
              i_ += 2;
              uint32_t lo = hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) error(esc, "high surrogate not followed by a low surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default: error(esc, fmt::format("bad escape \\{}", describe(esc + 1)));
        }
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++i_;
        continue;
      }
      // A multi-byte UTF-8 sequence: reject overlong forms, surrogates and code points above U+10FFFF.
      int len;
      uint32_t cp, min;
      if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
      else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
      else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
      else error(i_, fmt::format("invalid UTF-8 byte 0x{:02x} in string", c));
      if (n_ - i_ < static_cast<size_t>(len)) error(i_, "truncated UTF-8 sequence in string");
      for (int k = 1; k < len; ++k) {
        uint8_t cc = p_[i_ + k];
        if ((cc & 0xC0) != 0x80) error(i_, "invalid UTF-8 sequence in string");
        cp = (cp << 6) | (cc & 0x3F);
      }
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        error(i_, "invalid UTF-8 sequence in string");
      out.append(reinterpret_cast<const char*>(p_ + i_), len);
      i_ += len;
    }
  }

  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
  const std::string& file_;
};

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
  Json root = Parser(json, json_size, file).parse_document();
  Header h;
  for (size_t t = 0; t < root.keys.size(); ++t) {
    const std::string& name = root.keys[t];
    const Json& v = root.values[t];
    if (name == "__metadata__") {
      if (v.kind == Json::Null) continue;
      if (v.kind != Json::Object) fail(file, fmt::format("__metadata__ must be an object, not {}", kind_name(v.kind)));
      for (size_t m = 0; m < v.keys.size(); ++m) {
        const std::string& k = v.keys[m];
        const Json& s = v.values[m];
        if (s.kind != Json::String)
          fail(file, fmt::format("__metadata__ value of '{}' must be a string, not {}", k, kind_name(s.kind)));
        h.metadata.emplace(k, s.str);
      }
      continue;
    }
    if (v.kind != Json::Object)
      fail(file, fmt::format("tensor '{}' must be an object, not {}", name, kind_name(v.kind)));
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (size_t m = 0; m < v.keys.size(); ++m) {
      const std::string& k = v.keys[m];
      const Json& f = v.values[m];
      if (k == "dtype") dtype = &f;
      else if (k == "shape") shape = &f;
      else if (k == "data_offsets") offsets = &f;
      else fail(file, fmt::format("tensor '{}': unknown field '{}'", name, k));
    }
    if (!dtype) fail(file, fmt::format("tensor '{}': missing field 'dtype'", name));
    if (!shape) fail(file, fmt::format("tensor '{}': missing field 'shape'", name));
    if (!offsets) fail(file, fmt::format("tensor '{}': missing field 'data_offsets'", name));
    Desc d;
    d.name = name;
    if (dtype->kind != Json::String) fail(file, fmt::format("tensor '{}': dtype must be a string", name));
    d.dtype = dtype->str;
    size_t elem;
    try {
      elem = dtype_bytes(d.dtype);
    } catch (const Error&) {
      fail(file, fmt::format("tensor '{}': unknown dtype '{}'", name, d.dtype));
    }
    if (shape->kind != Json::Array) fail(file, fmt::format("tensor '{}': shape must be an array", name));
    for (const Json& dim : shape->items) {
      if (dim.kind != Json::Int || dim.negative ||
          dim.magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(file, fmt::format("tensor '{}': shape entries must be non-negative integers", name));
      d.shape.push_back(static_cast<int64_t>(dim.magnitude));
    }
    if (offsets->kind != Json::Array || offsets->items.size() != 2)
      fail(file, fmt::format("tensor '{}': data_offsets must be an array [begin, end]", name));
    for (const Json& o : offsets->items)
      if (o.kind != Json::Int || o.negative)
        fail(file, fmt::format("tensor '{}': data_offsets must be non-negative integers", name));
    d.begin = offsets->items[0].magnitude;
    d.end = offsets->items[1].magnitude;
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

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += static_cast<char>(c);
  }
  out += '"';
}

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

  std::string h = "{";
  bool first = true;
  if (!f.metadata.empty()) {
    h += "\"__metadata__\":{";
    for (const auto& [k, v] : f.metadata) {
      if (!first) h += ',';
      first = false;
      append_json_string(h, k);
      h += ':';
      append_json_string(h, v);
    }
    h += '}';
    first = false;
  }
  uint64_t off = 0;
  for (const Item* it : order) {
    if (!first) h += ',';
    first = false;
    append_json_string(h, it->first);
    h += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", it->second.dtype,
                     fmt::join(it->second.shape, ","), off, off + it->second.bytes.size());
    off += it->second.bytes.size();
  }
  h += '}';
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
