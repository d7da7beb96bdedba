// fuzz_decoders.cpp: a libFuzzer target feeding arbitrary bytes to the from-memory PNG and JPEG decoders
// (both PNG modes, both JPEG gray modes, the read_image dispatcher). Only mdp::Error may come out; a
// crash, leak or sanitizer report is a bug. Built and run by scripts/fuzz.sh (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "data/image.h"
#include "data/image_io.h"
#include "data/jpeg.h"
#include "data/png.h"
#include "tensor/error.h"

using namespace mdp::data;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // libFuzzer records the input as a crash
}

void check_shape(const Image& img) {
  check(img.width > 0 && img.height > 0);
  check(img.channels >= 1 && img.channels <= 4);
  check(img.bit_depth == 8 || img.bit_depth == 16);
  check(img.pixels.size() == img.row_bytes() * size_t(img.height));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    Image img = read_png_from_memory(data, size, PngMode::Auto, "fuzz");
    check_shape(img);
    if (img.num_samples() <= 64 * 1024) {  // what we decode, we can write and read back unchanged
      std::vector<uint8_t> png = encode_png(img, 1);
      Image back = read_png_from_memory(png.data(), png.size(), PngMode::Auto, "fuzz-roundtrip");
      check(back.pixels == img.pixels && back.channels == img.channels && back.bit_depth == img.bit_depth);
    }
  } catch (const mdp::Error&) {
  }
  try {
    Image img = read_png_from_memory(data, size, PngMode::Indices, "fuzz");
    check_shape(img);
    check(img.channels == 1);
  } catch (const mdp::Error&) {
  }
  try {
    Image img = read_jpeg_from_memory(data, size, false, "fuzz");
    check_shape(img);
    check(img.channels == 1 || img.channels == 3);
  } catch (const mdp::Error&) {
  }
  try {
    Image img = read_jpeg_from_memory(data, size, true, "fuzz");
    check_shape(img);
    check(img.channels == 3);
  } catch (const mdp::Error&) {
  }
  try {
    check_shape(read_image_from_memory(data, size, "fuzz"));
  } catch (const mdp::Error&) {
  }
  return 0;
}
