// test_tensorboard.cpp: nn/tensorboard.h: CRC-32C against its published check values, and the event
// file's framing read back record by record. The messages themselves are decoded independently, in
// Python, by tools/read_tfevents.py (tests/apps/test_cli.cpp runs it on a real, resumed training run).
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "nn/tensorboard.h"
#include "tensor/error.h"

using namespace mdp::nn;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(tensorboard)

BOOST_AUTO_TEST_CASE(crc32c_check_values) {
  // RFC 3720 (iSCSI) B.4 and the common "123456789" check value of CRC-32C.
  const std::string digits = "123456789";
  BOOST_TEST(crc32c(digits.data(), digits.size()) == 0xe3069283u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), up(32);
  for (int i = 0; i < 32; ++i) up[size_t(i)] = uint8_t(i);
  BOOST_TEST(crc32c(zeros.data(), 32) == 0x8a9136aau);
  BOOST_TEST(crc32c(ones.data(), 32) == 0x62a8ab43u);
  BOOST_TEST(crc32c(up.data(), 32) == 0x46dd794eu);
  BOOST_TEST(crc32c(nullptr, 0) == 0u);
  uint32_t c = crc32c(digits.data(), digits.size());
  BOOST_TEST(masked_crc32c(digits.data(), digits.size()) == ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

BOOST_AUTO_TEST_CASE(records_frame_every_event) {
  const fs::path dir = fs::temp_directory_path() / ("mdp-tb-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string path;
  {
    TensorBoardWriter w(dir.string());
    path = w.path();
    BOOST_TEST(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
    w.add_scalar("loss", 0.5, 1);
    w.restart_at(2);
    w.add_scalar("mIoU", 23.25, 2);
  }
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  size_t at = 0, n = 0;
  while (at < bytes.size()) {
    BOOST_TEST_REQUIRE(at + 12 <= bytes.size());
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, bytes.data() + at, 8);
    std::memcpy(&len_crc, bytes.data() + at + 8, 4);
    BOOST_TEST(len_crc == masked_crc32c(bytes.data() + at, 8));
    BOOST_TEST_REQUIRE(at + 16 + len <= bytes.size());
    std::memcpy(&data_crc, bytes.data() + at + 12 + len, 4);
    BOOST_TEST(data_crc == masked_crc32c(bytes.data() + at + 12, len));
    at += 16 + len;
    ++n;
  }
  BOOST_TEST(n == 4u);  // the file version, two scalars, the restart
  BOOST_TEST(bytes.find("brain.Event:2") != std::string::npos);
  BOOST_TEST(bytes.find("mIoU") != std::string::npos);
  // The restart: Event field 7 (session_log, length-delimited: key 0x3a), SessionLog{status = START (1)}.
  BOOST_TEST(bytes.find(std::string("\x3a\x02\x08\x01", 4)) != std::string::npos);
  fs::remove_all(dir);
  BOOST_CHECK_THROW(TensorBoardWriter("/no/such/dir"), mdp::Error);
}

BOOST_AUTO_TEST_SUITE_END()
