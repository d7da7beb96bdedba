// Tests of the safetensors reader/writer: round trips, the header layout, every error path named by its
// message, random corruption (never a crash), and, when MDP_PARITY_DIR is set, a file written by
// tools/torch_reference.py.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace sf = mdp::safetensors;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i);
  return v;
}

sf::File sample() {
  sf::File f;
  f.tensors["weight"] = {"F32", {2, 3}, iota_bytes(24)};
  f.tensors["bias"] = {"F64", {3}, iota_bytes(24, 100)};
  f.tensors["scalar"] = {"I64", {}, iota_bytes(8, 50)};
  f.tensors["half"] = {"BF16", {3}, iota_bytes(6, 7)};
  f.tensors["mask"] = {"BOOL", {5}, {1, 0, 1, 1, 0}};
  f.tensors["empty"] = {"F32", {0, 4}, {}};
  f.tensors["b\"q\\uot\xc3\xa9"] = {"U8", {1}, {9}};
  f.metadata["format"] = "pt";
  f.metadata["note"] = "line\nbreak \"quoted\" \xe2\x82\xac";
  return f;
}

void check_equal(const sf::File& a, const sf::File& b) {
  BOOST_TEST(a.metadata == b.metadata);
  BOOST_REQUIRE_EQUAL(a.tensors.size(), b.tensors.size());
  for (const auto& [name, e] : a.tensors) {
    auto it = b.tensors.find(name);
    BOOST_REQUIRE_MESSAGE(it != b.tensors.end(), "missing tensor " << name);
    BOOST_TEST(it->second.dtype == e.dtype);
    BOOST_TEST(it->second.shape == e.shape);
    BOOST_TEST(it->second.bytes == e.bytes);
  }
}

// A file image from a header text and a data section, the header length computed.
std::vector<uint8_t> raw(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8);
  uint64_t n = header.size();
  for (int k = 0; k < 8; ++k) out[k] = static_cast<uint8_t>(n >> (8 * k));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The message of the mdp::Error that parsing `bytes` throws, or "" when it parses.
std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    sf::parse(bytes.data(), bytes.size(), "t.safetensors");
  } catch (const mdp::Error& e) {
    return e.what();
  }
  return "";
}

#define CHECK_PARSE_ERROR(bytes, text)                                                                  \
  do {                                                                                                 \
    std::string msg_ = parse_error(bytes);                                                             \
    BOOST_CHECK_MESSAGE(msg_.find(text) != std::string::npos && msg_.find("t.safetensors") != std::string::npos, \
                        "expected an error containing '" << (text) << "', got '" << msg_ << "'");      \
  } while (0)

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const mdp::Error& e) {
    return e.what();
  }
  return "";
}

#define CHECK_ERROR(expr, text)                                                                     \
  do {                                                                                             \
    std::string msg_ = error_of([&] { expr; });                                                     \
    BOOST_CHECK_MESSAGE(msg_.find(text) != std::string::npos,                                      \
                        "expected an error containing '" << (text) << "', got '" << msg_ << "'");  \
  } while (0)

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("mdp_safetensors_test." + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

const std::string kOne = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(dtype_sizes) {
  BOOST_TEST(sf::dtype_bytes("F64") == 8u);
  BOOST_TEST(sf::dtype_bytes("F32") == 4u);
  BOOST_TEST(sf::dtype_bytes("BF16") == 2u);
  BOOST_TEST(sf::dtype_bytes("F16") == 2u);
  BOOST_TEST(sf::dtype_bytes("I64") == 8u);
  BOOST_TEST(sf::dtype_bytes("I32") == 4u);
  BOOST_TEST(sf::dtype_bytes("I16") == 2u);
  BOOST_TEST(sf::dtype_bytes("I8") == 1u);
  BOOST_TEST(sf::dtype_bytes("U8") == 1u);
  BOOST_TEST(sf::dtype_bytes("BOOL") == 1u);
  CHECK_ERROR(sf::dtype_bytes("f32"), "unknown dtype 'f32'");
}

BOOST_AUTO_TEST_CASE(round_trip_in_memory) {
  sf::File f = sample();
  std::vector<uint8_t> img = sf::serialize(f);
  check_equal(f, sf::parse(img.data(), img.size(), "mem"));
  // Deterministic: serializing what was parsed gives the same bytes.
  sf::File g = sf::parse(img.data(), img.size(), "mem");
  BOOST_TEST(sf::serialize(g) == img);
}

BOOST_AUTO_TEST_CASE(header_layout) {
  sf::File f = sample();
  std::vector<uint8_t> img = sf::serialize(f);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | img[k];
  BOOST_TEST(n % 8 == 0u);
  std::string header(img.begin() + 8, img.begin() + 8 + static_cast<long>(n));
  BOOST_TEST(header.front() == '{');
  BOOST_TEST(header.find("\"__metadata__\":{") != std::string::npos);
  // Padding is spaces after the closing brace.
  size_t close = header.find_last_of('}');
  BOOST_TEST(header.find_first_not_of(' ', close + 1) == std::string::npos);
  // Larger elements come first, so every tensor's file offset is aligned to its element size.
  size_t p_f64 = header.find("\"bias\""), p_f32 = header.find("\"weight\""), p_bf16 = header.find("\"half\"");
  size_t p_u8 = header.find("\"mask\"");
  BOOST_TEST(p_f64 < p_f32);
  BOOST_TEST(p_f32 < p_bf16);
  BOOST_TEST(p_bf16 < p_u8);
  // No metadata object when there is none.
  sf::File plain;
  plain.tensors["x"] = {"U8", {2}, {1, 2}};
  std::vector<uint8_t> img2 = sf::serialize(plain);
  std::string h2(img2.begin() + 8, img2.end() - 2);
  BOOST_TEST(h2.find("__metadata__") == std::string::npos);
  BOOST_TEST(h2.size() % 8 == 0u);
}

BOOST_AUTO_TEST_CASE(empty_file) {
  sf::File f;
  std::vector<uint8_t> img = sf::serialize(f);
  BOOST_TEST(img.size() == 16u);  // "{}" padded to 8
  sf::File g = sf::parse(img.data(), img.size(), "mem");
  BOOST_TEST(g.tensors.empty());
  BOOST_TEST(g.metadata.empty());
}

BOOST_AUTO_TEST_CASE(round_trip_on_disk) {
  TempDir dir;
  std::string path = (dir.path / "model.safetensors").string();
  sf::File f = sample();
  sf::write(path, f);
  check_equal(f, sf::read(path));
  // Overwriting replaces the file and leaves no temporary behind.
  f.tensors.erase("weight");
  f.metadata["step"] = "2";
  sf::write(path, f);
  check_equal(f, sf::read(path));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    ++files;
    BOOST_TEST(e.path().filename() == "model.safetensors");
  }
  BOOST_TEST(files == 1u);
  // The bytes on disk are exactly serialize()'s.
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(disk == sf::serialize(f));
}

BOOST_AUTO_TEST_CASE(metadata) {
  sf::File f;
  f.metadata["a"] = "1,2";
  f.metadata[""] = "empty key";
  f.metadata["ctl"] = std::string("tab\there\x01", 10);
  std::vector<uint8_t> img = sf::serialize(f);
  sf::File g = sf::parse(img.data(), img.size(), "mem");
  BOOST_TEST(g.metadata == f.metadata);
  // Written by others: escapes, \u with surrogate pairs, whitespace, null metadata.
  auto h = raw("{ \"__metadata__\" : {\"k\\u00e9\\ud83d\\ude00\": \"v\\/\\\\\\\"\\b\\f\\n\\r\\t\"} }   ");
  sf::File m = sf::parse(h.data(), h.size(), "mem");
  BOOST_REQUIRE_EQUAL(m.metadata.size(), 1u);
  BOOST_TEST(m.metadata.begin()->first == "k\xc3\xa9\xf0\x9f\x98\x80");
  BOOST_TEST(m.metadata.begin()->second == "v/\\\"\b\f\n\r\t");
  auto n = raw(R"({"__metadata__":null})");
  BOOST_TEST(sf::parse(n.data(), n.size(), "mem").metadata.empty());
  CHECK_PARSE_ERROR(raw(R"({"__metadata__":{"k":1}})"), "__metadata__ value of 'k' must be a string");
  CHECK_PARSE_ERROR(raw(R"({"__metadata__":["k"]})"), "__metadata__ must be an object");
}

BOOST_AUTO_TEST_CASE(reads_foreign_layout) {
  // Header not padded, keys in another order, tensors not in data order.
  auto img = raw(R"({"b":{"data_offsets":[8,10],"shape":[2],"dtype":"U8"},"a":{"shape":[1,2],"dtype":"F32","data_offsets":[0,8]}})",
                 iota_bytes(10));
  sf::File f = sf::parse(img.data(), img.size(), "mem");
  BOOST_TEST(f.tensors.at("a").bytes == std::vector<uint8_t>({0, 1, 2, 3, 4, 5, 6, 7}));
  BOOST_TEST(f.tensors.at("a").shape == std::vector<int64_t>({1, 2}));
  BOOST_TEST(f.tensors.at("b").bytes == std::vector<uint8_t>({8, 9}));
  // Zero-size tensors may share an offset.
  auto z = raw(R"({"z1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"z2":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}})");
  BOOST_TEST(sf::parse(z.data(), z.size(), "mem").tensors.size() == 2u);
}

BOOST_AUTO_TEST_CASE(error_missing_file) {
  CHECK_ERROR(sf::read("/nonexistent/dir/x.safetensors"), "/nonexistent/dir/x.safetensors: cannot open: No such file");
  TempDir dir;
  CHECK_ERROR(sf::read(dir.path.string()), "not a regular file");
}

BOOST_AUTO_TEST_CASE(error_short_file) {
  CHECK_PARSE_ERROR(std::vector<uint8_t>{}, "file is 0 bytes, shorter than the 8-byte header length");
  CHECK_PARSE_ERROR(std::vector<uint8_t>(5, 0), "file is 5 bytes, shorter than the 8-byte header length");
  TempDir dir;
  fs::path p = dir.path / "short.safetensors";
  write_bytes(p, {1, 2, 3});
  CHECK_ERROR(sf::read(p.string()), "short.safetensors: file is 3 bytes, shorter than the 8-byte header length");
}

BOOST_AUTO_TEST_CASE(error_header_length) {
  auto img = raw(kOne, iota_bytes(8));
  img[0] += 100;
  CHECK_PARSE_ERROR(img, "beyond the file size");
  std::vector<uint8_t> huge(16, 0xff);
  CHECK_PARSE_ERROR(huge, "header length 18446744073709551615 is beyond the file size (8 bytes after the length)");
  TempDir dir;
  fs::path p = dir.path / "long.safetensors";
  write_bytes(p, img);
  CHECK_ERROR(sf::read(p.string()), "long.safetensors: header length");
}

BOOST_AUTO_TEST_CASE(error_bad_json) {
  CHECK_PARSE_ERROR(raw(""), "bad JSON header at byte 0: the header must start with '{'");
  CHECK_PARSE_ERROR(raw(" {}"), "bad JSON header at byte 0: the header must start with '{'");
  CHECK_PARSE_ERROR(raw("[]"), "bad JSON header at byte 0");
  CHECK_PARSE_ERROR(raw(R"({"a":)"), "bad JSON header at byte 5: syntax error while parsing value - unexpected end of input");
  CHECK_PARSE_ERROR(raw(R"({"a" 1})"), "bad JSON header at byte 5: syntax error while parsing object separator - unexpected number literal; expected ':'");
  CHECK_PARSE_ERROR(raw(R"({"a":1,})"), "bad JSON header at byte 7: syntax error while parsing object key");
  CHECK_PARSE_ERROR(raw(R"({'a':1})"), "bad JSON header at byte 1: syntax error while parsing object key - invalid literal; expected string literal");
  CHECK_PARSE_ERROR(raw(R"({"a":[1,2,]})"), "bad JSON header at byte 10: syntax error while parsing value - unexpected ']'");
  CHECK_PARSE_ERROR(raw(R"({"a":[1 2]})"), "bad JSON header at byte 8: syntax error while parsing array - unexpected number literal; expected ']'");
  CHECK_PARSE_ERROR(raw(R"({"a":1} x)"), "bad JSON header at byte 8: syntax error while parsing value - invalid literal; expected end of input");
  CHECK_PARSE_ERROR(raw(R"({}{})"), "bad JSON header at byte 2");
  CHECK_PARSE_ERROR(raw(R"({"a":01})"), "bad JSON header at byte 6: syntax error while parsing object - unexpected number literal");
  // A number beyond a double is nlohmann's out_of_range 406, which escaped as a foreign exception (found by tests/fuzz).
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})"),
                    "bad JSON header: number overflow parsing '1e999'");
  CHECK_PARSE_ERROR(raw(R"({"a":1.5})"), "tensor 'a' must be an object, not a number with a fraction or exponent");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}})", iota_bytes(1)), "tensor 'a': shape entries must be non-negative integers");
  CHECK_PARSE_ERROR(raw(R"({"a":-})"), "bad JSON header at byte 6: syntax error while parsing value - invalid number; expected digit after '-'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,1]}})", iota_bytes(1)), "shape entries must be non-negative integers");
  CHECK_PARSE_ERROR(raw(R"({"a":tru})"), "bad JSON header at byte 8: syntax error while parsing value - invalid literal");
  CHECK_PARSE_ERROR(raw(R"({"a":"x)"), "bad JSON header at byte 7: syntax error while parsing value - invalid string: missing closing quote");
  CHECK_PARSE_ERROR(raw(R"({"a":"\x"})"), "bad JSON header at byte 7: syntax error while parsing value - invalid string: forbidden character after backslash");
  CHECK_PARSE_ERROR(raw(R"({"a":"\u12G4"})"), "'\\u' must be followed by 4 hex digits");
  CHECK_PARSE_ERROR(raw(R"({"a":"\u12)"), "'\\u' must be followed by 4 hex digits");
  CHECK_PARSE_ERROR(raw(R"({"a":"\udc00"})"), "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  CHECK_PARSE_ERROR(raw(R"({"a":"\ud800x"})"), "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  CHECK_PARSE_ERROR(raw(R"({"a":"\ud800\u0041"})"), "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  CHECK_PARSE_ERROR(raw("{\"a\":\"x\ny\"}"), "bad JSON header at byte 7: syntax error while parsing value - invalid string: control character U+000A (LF) must be escaped");
  CHECK_PARSE_ERROR(raw("{\"a\":\"\xff\"}"), "bad JSON header at byte 6: syntax error while parsing value - invalid string: ill-formed UTF-8 byte");
  CHECK_PARSE_ERROR(raw("{\"a\":\"\xc0\xaf\"}"), "ill-formed UTF-8 byte");        // overlong '/'
  CHECK_PARSE_ERROR(raw("{\"a\":\"\xed\xa0\x80\"}"), "ill-formed UTF-8 byte");    // encoded surrogate
  CHECK_PARSE_ERROR(raw("{\"a\":\"\xe2\x82\"}"), "ill-formed UTF-8 byte");        // truncated sequence
  CHECK_PARSE_ERROR(raw(std::string(R"({"a":)") + std::string(100, '[') + std::string(100, ']') + "}"),
                    "nesting deeper than");
  CHECK_PARSE_ERROR(raw(std::string("{\"a\":1}\0", 8)), "bad JSON header at byte 7: unexpected byte 0x00");
}

BOOST_AUTO_TEST_CASE(error_duplicate_names) {
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                        iota_bytes(2)),
                    "bad JSON header: duplicate name \"a\"");
  CHECK_PARSE_ERROR(raw(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate name \"k\"");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", iota_bytes(1)),
                    "duplicate name \"dtype\"");
  // Escapes are decoded before the comparison.
  CHECK_PARSE_ERROR(raw(R"({"__metadata__":{"k":"1","\u006b":"2"}})"), "duplicate name \"k\"");
}

BOOST_AUTO_TEST_CASE(error_tensor_entries) {
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", iota_bytes(2)),
                    "tensor 'a': unknown dtype 'F8'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,2]}})", iota_bytes(2)),
                    "tensor 'a': dtype must be a string");
  CHECK_PARSE_ERROR(raw(R"({"a":[1]})"), "tensor 'a' must be an object, not an array");
  CHECK_PARSE_ERROR(raw(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", iota_bytes(8)), "tensor 'a': missing field 'dtype'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", iota_bytes(8)), "tensor 'a': missing field 'shape'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2]}})", iota_bytes(8)), "tensor 'a': missing field 'data_offsets'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", iota_bytes(8)),
                    "tensor 'a': unknown field 'x'");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", iota_bytes(8)),
                    "tensor 'a': shape entries must be non-negative integers");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", iota_bytes(8)),
                    "shape entries must be non-negative integers");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", iota_bytes(8)),
                    "tensor 'a': shape must be an array");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", iota_bytes(8)),
                    "tensor 'a': data_offsets must be an array [begin, end]");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", iota_bytes(8)),
                    "data_offsets must be non-negative integers");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[9223372036854775807,9223372036854775807],"data_offsets":[0,8]}})",
                        iota_bytes(8)),
                    "tensor 'a': shape [9223372036854775807, 9223372036854775807] is too large");
}

BOOST_AUTO_TEST_CASE(error_offsets) {
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", iota_bytes(6)),
                    "tensor 'a': data_offsets [0, 8] out of range (data section is 6 bytes)");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", iota_bytes(8)),
                    "tensor 'a': data_offsets [8, 0] out of range");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551615,8]}})", iota_bytes(8)),
                    "out of range");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", iota_bytes(8)),
                    "tensor 'a': data_offsets [0, 8] span 8 bytes but shape [3] of F32 needs 12");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}})",
                        iota_bytes(10)),
                    "tensors 'a' [0, 8] and 'b' [6, 10] overlap");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                        iota_bytes(8)),
                    "overlap");
  CHECK_PARSE_ERROR(raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", iota_bytes(8)),
                    "gap in the data section: bytes [0, 4) belong to no tensor");
  CHECK_PARSE_ERROR(raw(kOne, iota_bytes(9)), "trailing bytes: the tensors cover 8 bytes of a 9-byte data section");
}

BOOST_AUTO_TEST_CASE(error_serialize) {
  sf::File f;
  f.tensors["a"] = {"F32", {2}, iota_bytes(7)};
  CHECK_ERROR(sf::serialize(f), "tensor 'a': 7 bytes but shape [2] of F32 needs 8");
  f.tensors["a"] = {"F128", {2}, iota_bytes(8)};
  CHECK_ERROR(sf::serialize(f), "tensor 'a': unknown dtype 'F128'");
  f.tensors["a"] = {"F32", {-2}, iota_bytes(8)};
  CHECK_ERROR(sf::serialize(f), "negative dimension");
  f.tensors.clear();
  f.tensors["__metadata__"] = {"U8", {1}, {1}};
  CHECK_ERROR(sf::serialize(f), "may not be named __metadata__");
  f.tensors.clear();
  f.tensors["bad\xff"] = {"U8", {1}, {1}};
  CHECK_ERROR(sf::serialize(f), "not valid UTF-8");
  // write() checks before touching the disk, and names the path when the directory is missing.
  TempDir dir;
  std::string path = (dir.path / "x.safetensors").string();
  CHECK_ERROR(sf::write(path, f), "not valid UTF-8");
  BOOST_TEST(!fs::exists(path));
  CHECK_ERROR(sf::write("/nonexistent/dir/y.safetensors", sample()), "/nonexistent/dir/y.safetensors: cannot create");
}

BOOST_AUTO_TEST_CASE(corruption_never_crashes) {
  std::vector<uint8_t> good = sf::serialize(sample());
  std::mt19937 rng(1234);
  int parsed = 0, rejected = 0;
  for (size_t cut = 0; cut < good.size(); ++cut) {
    std::vector<uint8_t> img(good.begin(), good.begin() + static_cast<long>(cut));
    BOOST_TEST(!parse_error(img).empty());
  }
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> img = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      size_t at = rng() % img.size();
      img[at] = static_cast<uint8_t>(rng() % 3 == 0 ? "{}[]\",:0-9\\u "[rng() % 14] : rng());
    }
    try {
      sf::parse(img.data(), img.size(), "fuzz");
      ++parsed;
    } catch (const mdp::Error& e) {
      ++rejected;
      BOOST_TEST(std::string(e.what()).find("safetensors: fuzz: ") == 0u);
    }
  }
  BOOST_TEST(rejected > 0);
  BOOST_TEST_MESSAGE("corruption: " << parsed << " parsed, " << rejected << " rejected");
}

BOOST_AUTO_TEST_CASE(python_reference_file) {
  const char* dir = std::getenv("MDP_PARITY_DIR");
  if (!dir || !*dir) {
    BOOST_TEST_MESSAGE("MDP_PARITY_DIR not set: skipping the torch_reference.py file check");
    return;
  }
  sf::File f = sf::read(std::string(dir) + "/conv2d.safetensors");
  const sf::Entry& x = f.tensors.at("basic.x");
  BOOST_TEST(x.dtype == "F64");
  BOOST_TEST(x.shape == std::vector<int64_t>({2, 3, 9, 9}));
  BOOST_TEST(x.bytes.size() == 2u * 3 * 9 * 9 * 8);
  BOOST_TEST(f.metadata.at("basic.stride") == "1,1");
  BOOST_TEST(f.tensors.at("basic.gw").shape == std::vector<int64_t>({4, 3, 3, 3}));
  BOOST_TEST(f.tensors.count("strided.b") == 0u);
  // Our writer's output of what we read parses back to the same content.
  std::vector<uint8_t> img = sf::serialize(f);
  check_equal(f, sf::parse(img.data(), img.size(), "reserialized"));
}

BOOST_AUTO_TEST_SUITE_END()
