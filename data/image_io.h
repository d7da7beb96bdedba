// image_io.h: read_image, which picks the codec from the file's first bytes (PNG or JPEG), not from its
// extension. It is only a dispatcher: options of the codecs (PngMode, gray_to_rgb) are in png.h/jpeg.h,
// and anything that is neither PNG nor JPEG is an mdp::Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "image.h"

namespace mdp::data {

enum class ImageFormat { Unknown, Png, Jpeg };

ImageFormat sniff_image_format(const uint8_t* data, size_t size);
const char* image_format_name(ImageFormat format);

// PNGs are read in PngMode::Auto, JPEGs as stored (RGB, or 1 channel for grayscale JPEGs).
Image read_image(const std::string& path);
Image read_image_from_memory(const uint8_t* data, size_t size, const std::string& name = "<memory>");

}  // namespace mdp::data
