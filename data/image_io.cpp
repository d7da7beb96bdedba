// image_io.cpp: format sniffing by magic bytes and the read_image dispatcher. Decoding itself is in
// png.cpp and jpeg.cpp.
#include "data/image_io.h"

#include <vector>

#include "data/jpeg.h"
#include "data/png.h"
#include "tensor/error.h"

namespace mdp::data {

ImageFormat sniff_image_format(const uint8_t* data, size_t size) {
  if (is_png(data, size)) return ImageFormat::Png;
  if (is_jpeg(data, size)) return ImageFormat::Jpeg;
  return ImageFormat::Unknown;
}

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Unknown: return "unknown";
  }
  return "?";
}

Image read_image_from_memory(const uint8_t* data, size_t size, const std::string& name) {
  MDP_CHECK(size > 0, "read_image: {}: empty file", name);
  switch (sniff_image_format(data, size)) {
    case ImageFormat::Png: return read_png_from_memory(data, size, PngMode::Auto, name);
    case ImageFormat::Jpeg: return read_jpeg_from_memory(data, size, false, name);
    case ImageFormat::Unknown: break;
  }
  std::string head;
  for (size_t i = 0; i < size && i < 8; ++i) head += fmt::format("{}{:02x}", i ? " " : "", data[i]);
  throw Error(fmt::format("read_image: {}: not a PNG or JPEG file (starts with {})", name, head));
}

Image read_image(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path, "read_image");
  return read_image_from_memory(bytes.data(), bytes.size(), path);
}

}  // namespace mdp::data
