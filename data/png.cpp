// png.cpp: the libpng decoder and encoder behind png.h, both working on memory buffers (files are read
// whole first, and written through write_file_atomic). libpng reports errors by longjmp: each call into
// it is made from one small function that holds no C++ objects, and all state lives in a struct owned
// by the caller, so nothing is skipped or leaked when it jumps. Callbacks never throw and never print.
#include "data/png.h"

#include <png.h>

#include <climits>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"

namespace mdp::data {

const char* png_mode_name(PngMode mode) {
  switch (mode) {
    case PngMode::Auto: return "Auto";
    case PngMode::Indices: return "Indices";
  }
  return "?";
}

bool is_png(const uint8_t* data, size_t size) {
  return size >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

namespace {

const char* color_type_name(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha";
    case PNG_COLOR_TYPE_RGB: return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "RGBA";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
  }
  return "unknown";
}

// ---- reading ----------------------------------------------------------------------------------------

struct ReadState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  bool hit_eof = false;
  char message[256] = {};
  PngMode mode = PngMode::Auto;
  const std::string* name = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  Image image;
  std::vector<png_bytep> rows;

  ~ReadState() { png_destroy_read_struct(&png, &info, nullptr); }
};

void read_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof st->message, "%s", msg ? msg : "unknown error");
  png_longjmp(png, 1);
}

void read_warning(png_structp, png_const_charp) {}  // warnings (bad ancillary chunks) are ignored

void read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* st = static_cast<ReadState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) {
    st->hit_eof = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// Everything that can longjmp happens here. Returns false when libpng failed (st.message says why);
// the mdp::Error thrown for a mode mismatch or an oversized image unwinds normally, since it is thrown
// from this frame and not from inside libpng.
bool decode(ReadState& st) {
  png_structp png = st.png;
  png_infop info = st.info;
  if (setjmp(png_jmpbuf(png))) return false;

  png_set_read_fn(png, &st, read_bytes);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(png, info, &width, &height, &depth, &color_type, &interlace, nullptr, nullptr);
  MDP_CHECK(width <= INT_MAX && height <= INT_MAX, "read_png: {}: size {}x{} is too large", *st.name, width,
            height);

  if (st.mode == PngMode::Auto) {
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && color_type != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
  } else {
    MDP_CHECK(color_type == PNG_COLOR_TYPE_PALETTE || color_type == PNG_COLOR_TYPE_GRAY,
              "read_png: {}: Indices mode needs a palette or gray PNG, this one is {} {}-bit", *st.name,
              color_type_name(color_type), depth);
    if (depth < 8) png_set_packing(png);
  }
  if (depth == 16) png_set_swap(png);  // little-endian uint16 in memory
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  int channels = png_get_channels(png, info);
  int out_depth = png_get_bit_depth(png, info);
  MDP_CHECK((out_depth == 8 || (out_depth == 16 && channels == 1)) && channels >= 1 && channels <= 4,
            "read_png: {}: unsupported pixel format ({} channels, {}-bit after conversion from {} {}-bit)",
            *st.name, channels, out_depth, color_type_name(color_type), depth);
  size_t bytes = size_t(width) * size_t(height) * size_t(channels) * size_t(out_depth / 8);
  MDP_CHECK(bytes <= kMaxImageBytes, "read_png: {}: {}x{}x{} {}-bit image is larger than the {}-byte limit",
            *st.name, width, height, channels, out_depth, kMaxImageBytes);
  st.image = Image(int(width), int(height), channels, out_depth);
  MDP_CHECK(png_get_rowbytes(png, info) == st.image.row_bytes(),
            "read_png: {}: libpng row size {} differs from the expected {}", *st.name,
            png_get_rowbytes(png, info), st.image.row_bytes());

  st.rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) st.rows[y] = st.image.row(int(y));
  png_read_image(png, st.rows.data());
  png_read_end(png, nullptr);  // checks the CRC of the last IDAT and that the stream ends properly
  return true;
}

// ---- writing ----------------------------------------------------------------------------------------

struct WriteState {
  std::vector<uint8_t> out;
  bool out_of_memory = false;
  char message[256] = {};
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::vector<png_bytep> rows;
  std::vector<png_color> palette;

  ~WriteState() { png_destroy_write_struct(&png, &info); }
};

void write_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<WriteState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof st->message, "%s", msg ? msg : "unknown error");
  png_longjmp(png, 1);
}

void write_warning(png_structp, png_const_charp) {}

void write_bytes(png_structp png, png_bytep data, size_t n) {
  auto* st = static_cast<WriteState*>(png_get_io_ptr(png));
  try {
    st->out.insert(st->out.end(), data, data + n);
  } catch (...) {  // an exception must not cross libpng's C frames
    st->out_of_memory = true;
  }
  if (st->out_of_memory) png_error(png, "out of memory");
}

void flush_bytes(png_structp) {}

bool encode(WriteState& st, const Image& image, int color_type, int level) {
  png_structp png = st.png;
  png_infop info = st.info;
  if (setjmp(png_jmpbuf(png))) return false;

  png_set_write_fn(png, &st, write_bytes, flush_bytes);
  png_set_compression_level(png, level);
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), image.bit_depth, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, st.palette.data(), int(st.palette.size()));
  png_write_info(png, info);
  if (image.bit_depth == 16) png_set_swap(png);
  png_write_image(png, st.rows.data());
  png_write_end(png, nullptr);
  return true;
}

std::vector<uint8_t> encode_with(const Image& image, int color_type, const Palette* palette, int level,
                                 const char* who, const std::string& name) {
  WriteState st;
  st.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, write_error, write_warning);
  MDP_CHECK(st.png, "{}: {}: cannot create the libpng write struct", who, name);
  st.info = png_create_info_struct(st.png);
  MDP_CHECK(st.info, "{}: {}: cannot create the libpng info struct", who, name);
  if (palette) {
    for (const auto& c : *palette) st.palette.push_back(png_color{c[0], c[1], c[2]});
  }
  st.rows.resize(size_t(image.height));
  // libpng takes non-const row pointers but only reads them when writing.
  for (int y = 0; y < image.height; ++y) st.rows[size_t(y)] = const_cast<uint8_t*>(image.row(y));
  if (!encode(st, image, color_type, level))
    throw Error(fmt::format("{}: {}: encoding failed (libpng: {})", who, name, st.message));
  return std::move(st.out);
}

void check_writable(const Image& image, const char* who, const std::string& name, int level) {
  MDP_CHECK(image.width > 0 && image.height > 0, "{}: {}: empty image", who, name);
  MDP_CHECK(image.pixels.size() == image.row_bytes() * size_t(image.height),
            "{}: {}: {} image holds {} bytes, expected {}", who, name, image.describe(), image.pixels.size(),
            image.row_bytes() * size_t(image.height));
  MDP_CHECK(level >= 0 && level <= 9, "{}: {}: compression level {} not in 0..9", who, name, level);
}

std::vector<uint8_t> encode_png_named(const Image& image, int level, const std::string& name) {
  check_writable(image, "write_png", name, level);
  int color_type = -1;
  if (image.bit_depth == 8) {
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    if (image.channels >= 1 && image.channels <= 4) color_type = types[image.channels - 1];
  } else if (image.bit_depth == 16 && image.channels == 1) {
    color_type = PNG_COLOR_TYPE_GRAY;
  }
  MDP_CHECK(color_type >= 0, "write_png: {}: cannot write a {} image (8-bit 1..4 channels or 16-bit gray)",
            name, image.describe());
  return encode_with(image, color_type, nullptr, level, "write_png", name);
}

std::vector<uint8_t> encode_indexed_png_named(const Image& indices, const Palette& palette, int level,
                                              const std::string& name) {
  const char* who = "write_indexed_png";
  check_writable(indices, who, name, level);
  MDP_CHECK(indices.channels == 1 && indices.bit_depth == 8, "{}: {}: indices must be 1-channel 8-bit, got {}",
            who, name, indices.describe());
  MDP_CHECK(!palette.empty() && palette.size() <= 256, "{}: {}: palette has {} entries, expected 1..256", who,
            name, palette.size());
  for (size_t i = 0; i < indices.pixels.size(); ++i) {
    if (indices.pixels[i] >= palette.size()) {
      int x = int(i % size_t(indices.width)), y = int(i / size_t(indices.width));
      throw Error(fmt::format("{}: {}: index {} at (x={}, y={}) is outside the {}-entry palette", who, name,
                              indices.pixels[i], x, y, palette.size()));
    }
  }
  return encode_with(indices, PNG_COLOR_TYPE_PALETTE, &palette, level, who, name);
}

}  // namespace

Image read_png_from_memory(const uint8_t* data, size_t size, PngMode mode, const std::string& name) {
  MDP_CHECK(size > 0, "read_png: {}: empty file", name);
  MDP_CHECK(is_png(data, size), "read_png: {}: not a PNG file (bad signature)", name);
  ReadState st;
  st.data = data;
  st.size = size;
  st.mode = mode;
  st.name = &name;
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, read_error, read_warning);
  MDP_CHECK(st.png, "read_png: {}: cannot create the libpng read struct", name);
  st.info = png_create_info_struct(st.png);
  MDP_CHECK(st.info, "read_png: {}: cannot create the libpng info struct", name);
  if (!decode(st)) {
    if (st.hit_eof)
      throw Error(fmt::format("read_png: {}: truncated file (data ends after {} bytes; libpng: {})", name,
                              size, st.message));
    throw Error(fmt::format("read_png: {}: corrupt PNG data (libpng: {})", name, st.message));
  }
  return std::move(st.image);
}

Image read_png(const std::string& path, PngMode mode) {
  std::vector<uint8_t> bytes = read_file_bytes(path, "read_png");
  return read_png_from_memory(bytes.data(), bytes.size(), mode, path);
}

std::vector<uint8_t> encode_png(const Image& image, int compression_level) {
  return encode_png_named(image, compression_level, "<memory>");
}

void write_png(const std::string& path, const Image& image, int compression_level) {
  std::vector<uint8_t> bytes = encode_png_named(image, compression_level, path);
  write_file_atomic(path, bytes.data(), bytes.size(), "write_png");
}

std::vector<uint8_t> encode_indexed_png(const Image& indices, const Palette& palette, int compression_level) {
  return encode_indexed_png_named(indices, palette, compression_level, "<memory>");
}

void write_indexed_png(const std::string& path, const Image& indices, const Palette& palette,
                       int compression_level) {
  std::vector<uint8_t> bytes = encode_indexed_png_named(indices, palette, compression_level, path);
  write_file_atomic(path, bytes.data(), bytes.size(), "write_indexed_png");
}

}  // namespace mdp::data
