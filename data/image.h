// image.h: a decoded image as plain bytes (HWC, row-major) and the file helpers the codecs share.
// It is what png.h / jpeg.h return and accept; it is deliberately not a tensor, does no colour
// conversion or resizing, and knows nothing of datasets or label spaces.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mdp::data {

// The largest image a codec will allocate (bytes of decoded pixels), so a corrupt header that claims
// 60000x60000 pixels fails with an error instead of exhausting memory.
inline constexpr size_t kMaxImageBytes = size_t(1) << 30;

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 gray/indices, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth = 8;                        // 8, or 16 (then each sample is a little-endian uint16 pair)
  std::vector<uint8_t> pixels;              // HWC, row-major, no row padding

  Image() = default;
  // A zero-filled image; throws mdp::Error for a non-positive size, channels outside 1..4, a bit depth
  // other than 8 or 16, or more than kMaxImageBytes.
  Image(int width, int height, int channels, int bit_depth = 8);

  bool empty() const { return pixels.empty(); }
  size_t bytes_per_sample() const { return bit_depth == 16 ? 2 : 1; }
  size_t num_samples() const { return size_t(width) * size_t(height) * size_t(channels); }
  size_t row_bytes() const { return size_t(width) * size_t(channels) * bytes_per_sample(); }
  uint8_t* row(int y) { return pixels.data() + size_t(y) * row_bytes(); }
  const uint8_t* row(int y) const { return pixels.data() + size_t(y) * row_bytes(); }

  // Sample c of pixel (x, y), for either bit depth. Unchecked, like operator[].
  int sample(int y, int x, int c = 0) const {
    size_t i = (size_t(y) * size_t(width) + size_t(x)) * size_t(channels) + size_t(c);
    if (bit_depth == 16) return int(pixels[2 * i]) | (int(pixels[2 * i + 1]) << 8);
    return pixels[i];
  }
  void set_sample(int y, int x, int c, int value) {
    size_t i = (size_t(y) * size_t(width) + size_t(x)) * size_t(channels) + size_t(c);
    if (bit_depth == 16) {
      pixels[2 * i] = uint8_t(value & 0xff);
      pixels[2 * i + 1] = uint8_t((value >> 8) & 0xff);
    } else {
      pixels[i] = uint8_t(value);
    }
  }

  // "500x375x3 8-bit", for messages.
  std::string describe() const;
};

// Whole file as bytes; throws mdp::Error "<who>: <path>: cannot open file (<strerror>)" and the like.
std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who);

// Writes bytes to path atomically: path + ".tmp.<pid>", fsync, rename over path (and fsync of the
// directory). On failure the temporary is removed and mdp::Error names path and the problem.
void write_file_atomic(const std::string& path, const uint8_t* data, size_t size, const char* who);

}  // namespace mdp::data
