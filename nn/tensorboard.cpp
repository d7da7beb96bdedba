// tensorboard.cpp: see tensorboard.h. The protobuf wire format by hand: a field is a varint key
// (number << 3 | wire type) and its value: 0 varint, 1 fixed 64 bits, 2 length-delimited, 5 fixed 32 bits.
#include "nn/tensorboard.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <unistd.h>

#include "tensor/error.h"

namespace mdp::nn {
namespace {

std::array<uint32_t, 256> crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;  // the reflected Castagnoli polynomial
    t[i] = c;
  }
  return t;
}

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out += char(uint8_t(v));
}
void key(std::string& out, int field, int wire_type) { varint(out, uint64_t(field) << 3 | uint64_t(wire_type)); }
template <typename T>
void fixed(std::string& out, T v) {  // little-endian, as x86 and ARM store it
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  path_ = fmt::format("{}/events.out.tfevents.{}.{}.{}", dir, int64_t(now_seconds()), host, ::getpid());
  file_ = std::fopen(path_.c_str(), "ab");
  MDP_CHECK(file_ != nullptr, "tensorboard: cannot create {}: {}", path_, std::strerror(errno));
  std::string version;
  bytes_field(version, 3, "brain.Event:2");
  write_event(version, 0);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string v;
  bytes_field(v, 1, tag);
  key(v, 2, 5);
  fixed(v, float(value));
  std::string summary;
  bytes_field(summary, 1, v);
  std::string event;
  bytes_field(event, 5, summary);
  write_event(event, step);
}

void TensorBoardWriter::restart_at(int64_t step) {
  std::string log;
  key(log, 1, 0);
  varint(log, 1);  // SessionLog.START
  std::string event;
  bytes_field(event, 7, log);  // Event.session_log (6 is the deprecated log_message)
  write_event(event, step);
}

void TensorBoardWriter::write_event(const std::string& fields, int64_t step) {
  std::string e;
  key(e, 1, 1);
  fixed(e, now_seconds());
  key(e, 2, 0);
  varint(e, uint64_t(step));
  e += fields;
  std::string record;
  fixed(record, uint64_t(e.size()));
  fixed(record, masked_crc32c(record.data(), 8));
  record += e;
  fixed(record, masked_crc32c(e.data(), e.size()));
  MDP_CHECK(std::fwrite(record.data(), 1, record.size(), file_) == record.size() && std::fflush(file_) == 0,
            "tensorboard: cannot write {}: {}", path_, std::strerror(errno));
}

}  // namespace mdp::nn
