// png.h: PNG decoding and encoding through libpng, for photos (leftImg8bit), label maps (gray or
// palette PNGs read as indices) and 16-bit instance maps. It does no gamma or colour management and no
// resizing; every failure, corrupt or truncated input included, is an mdp::Error naming the file.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "image.h"

namespace mdp::data {

enum class PngMode {
  // Pixels as stored: 8-bit gray, gray+alpha, RGB, RGBA. Palette PNGs are expanded to RGB (RGBA when the
  // file has a tRNS chunk), gray below 8 bits is scaled to 0..255, 16-bit colour is cut to its high
  // byte, 16-bit gray stays 16-bit. This is what PIL gives after convert("RGB"/"RGBA") for palettes.
  Auto,
  // Label maps: a palette PNG gives its 1-channel palette indices (1/2/4-bit ones unpacked, not scaled),
  // a gray PNG gives its values (unscaled below 8 bits, 16-bit stays 16-bit), like PIL's "P"/"L".
  // Colour and alpha PNGs are an error: they carry no indices.
  Indices,
};

const char* png_mode_name(PngMode mode);

// Decodes a PNG file or buffer. `name` labels the buffer in error messages (a path, or "<memory>").
Image read_png(const std::string& path, PngMode mode = PngMode::Auto);
Image read_png_from_memory(const uint8_t* data, size_t size, PngMode mode = PngMode::Auto,
                           const std::string& name = "<memory>");

// Encodes 8-bit gray / gray+alpha / RGB / RGBA, or 16-bit gray. The file write is atomic.
std::vector<uint8_t> encode_png(const Image& image, int compression_level = 6);
void write_png(const std::string& path, const Image& image, int compression_level = 6);

// Writes a 1-channel 8-bit image of indices as a palette PNG (PIL reads it back as mode "P"); every
// index must be < palette.size() and the palette has 1..256 entries. The file write is atomic.
using Palette = std::vector<std::array<uint8_t, 3>>;
std::vector<uint8_t> encode_indexed_png(const Image& indices, const Palette& palette,
                                        int compression_level = 6);
void write_indexed_png(const std::string& path, const Image& indices, const Palette& palette,
                       int compression_level = 6);

// True when the buffer starts with the 8-byte PNG signature.
bool is_png(const uint8_t* data, size_t size);

}  // namespace mdp::data
