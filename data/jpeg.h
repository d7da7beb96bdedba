// jpeg.h: JPEG decoding and encoding through libjpeg-turbo (the libjpeg62 API), with libjpeg's defaults
// (ISLOW DCT, fancy upsampling) so decoded pixels match PIL's. No EXIF orientation, no CMYK, no
// resizing; corrupt or truncated input is an mdp::Error naming the file, never a partly grey image.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "image.h"

namespace mdp::data {

// Decodes to 8-bit RGB (3 channels). A grayscale JPEG gives 1 channel, or 3 identical ones when
// gray_to_rgb is set. Damaged data is an error, even where libjpeg would only warn and pad: a
// premature end, bad Huffman codes, lost sync. Only warnings that leave pixels intact (extraneous bytes
// between segments, unknown JFIF/Adobe versions, a bad ICC marker) are tolerated.
Image read_jpeg(const std::string& path, bool gray_to_rgb = false);
Image read_jpeg_from_memory(const uint8_t* data, size_t size, bool gray_to_rgb = false,
                            const std::string& name = "<memory>");

// Encodes an 8-bit gray (1 channel) or RGB (3 channel) image, quality 1..100, libjpeg's default 4:2:0
// chroma subsampling. The file write is atomic.
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);
void write_jpeg(const std::string& path, const Image& image, int quality = 90);

// True when the buffer starts with a JPEG SOI marker followed by another marker (FF D8 FF).
bool is_jpeg(const uint8_t* data, size_t size);

}  // namespace mdp::data
