// jpeg.cpp: the libjpeg-turbo decoder and encoder behind jpeg.h, on memory buffers. libjpeg reports
// errors (and, here, data-damaging warnings) through a custom error manager that longjmps back into
// the one function making libjpeg calls; all state lives in a caller-owned struct whose destructor
// releases libjpeg's memory, so nothing leaks and nothing is printed.
#include "data/jpeg.h"

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <jerror.h>

#include "tensor/error.h"

namespace mdp::data {

bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

namespace {

// A progressive JPEG can hold any number of scans; a corrupt one with thousands of tiny scans would take
// minutes. libjpeg-turbo's documentation suggests a limit like this one.
constexpr int kMaxScans = 1000;

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool truncated = false;
};

[[noreturn]] void fail_with_message(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_error_exit(j_common_ptr cinfo) { fail_with_message(cinfo); }

// Warnings that mean the decoded pixels would be wrong (libjpeg pads with grey and goes on) are fatal.
bool warning_is_harmless(int code) {
  return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
         code == JWRN_BOGUS_ICC;
}

void on_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  int code = cinfo->err->msg_code;
  if (warning_is_harmless(code)) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (code == JWRN_JPEG_EOF) err->truncated = true;
  fail_with_message(cinfo);
}

void on_output_message(j_common_ptr) {}  // never print

void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d scans", kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

void install_error_manager(ErrorManager& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error_exit;
  err.pub.emit_message = on_emit_message;
  err.pub.output_message = on_output_message;
}

// ---- reading ----------------------------------------------------------------------------------------

struct ReadState {
  jpeg_decompress_struct cinfo{};
  ErrorManager err;
  jpeg_progress_mgr progress{};
  bool created = false;
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool gray_to_rgb = false;
  const std::string* name = nullptr;
  Image image;

  ~ReadState() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Everything that can longjmp happens here; returns false when libjpeg failed (st.err says why). The
// mdp::Errors thrown here for unsupported colour spaces and oversized images unwind normally.
bool decode(ReadState& st) {
  j_decompress_ptr cinfo = &st.cinfo;
  cinfo->err = &st.err.pub;
  install_error_manager(st.err);
  if (setjmp(st.err.jump)) return false;

  st.created = true;
  jpeg_create_decompress(cinfo);
  cinfo->mem->max_memory_to_use = long(kMaxImageBytes);  // bounds whole-image buffers (progressive)
  st.progress.progress_monitor = on_progress;
  cinfo->progress = &st.progress;
  jpeg_mem_src(cinfo, st.data, static_cast<unsigned long>(st.size));
  jpeg_read_header(cinfo, TRUE);

  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = st.gray_to_rgb ? JCS_RGB : JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    default:
      throw Error(fmt::format("read_jpeg: {}: unsupported colour space ({} components, {}); expected gray, "
                              "YCbCr or RGB",
                              *st.name, cinfo->num_components,
                              cinfo->jpeg_color_space == JCS_CMYK   ? "CMYK"
                              : cinfo->jpeg_color_space == JCS_YCCK ? "YCCK"
                                                                    : "unknown"));
  }
  // libjpeg's defaults, set explicitly: these are what PIL decodes with.
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  cinfo->scale_num = cinfo->scale_denom = 1;
  jpeg_calc_output_dimensions(cinfo);

  int channels = cinfo->output_components;
  size_t width = cinfo->output_width, height = cinfo->output_height;
  MDP_CHECK(channels == 1 || channels == 3, "read_jpeg: {}: unexpected {} output components", *st.name,
            channels);
  size_t row_bytes = width * size_t(channels);
  MDP_CHECK(width > 0 && height > 0 && row_bytes * height <= kMaxImageBytes,
            "read_jpeg: {}: {}x{}x{} image is larger than the {}-byte limit", *st.name, width, height, channels,
            kMaxImageBytes);

  jpeg_start_decompress(cinfo);
  st.image.width = int(width);
  st.image.height = int(height);
  st.image.channels = channels;
  st.image.bit_depth = 8;
  // Grown a row at a time, so a header that promises a huge image backed by a few bytes of data fails
  // before the memory is touched.
  st.image.pixels.reserve(row_bytes * height);
  while (cinfo->output_scanline < cinfo->output_height) {
    size_t y = cinfo->output_scanline;
    st.image.pixels.resize((y + 1) * row_bytes);
    JSAMPROW row = st.image.pixels.data() + y * row_bytes;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);  // reads to EOI: a file cut after the last row still fails
  return true;
}

// ---- writing ----------------------------------------------------------------------------------------

// A destination manager that appends to a std::vector (jpeg_mem_dest's buffer handling leaks or frees
// twice when compression is aborted midway). cinfo.client_data points back to this struct.
struct WriteState {
  jpeg_compress_struct cinfo{};
  ErrorManager err;
  jpeg_destination_mgr dest{};
  bool created = false;
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];

  ~WriteState() {
    if (created) jpeg_destroy_compress(&cinfo);
  }
};

WriteState* write_state(j_compress_ptr cinfo) { return static_cast<WriteState*>(cinfo->client_data); }

void append(j_compress_ptr cinfo, size_t n) {
  WriteState* st = write_state(cinfo);
  try {
    st->out.insert(st->out.end(), st->chunk, st->chunk + n);
  } catch (...) {  // an exception must not cross libjpeg's C frames
    std::snprintf(st->err.message, sizeof st->err.message, "out of memory");
    std::longjmp(st->err.jump, 1);
  }
  st->dest.next_output_byte = st->chunk;
  st->dest.free_in_buffer = sizeof st->chunk;
}

void dest_init(j_compress_ptr cinfo) { append(cinfo, 0); }
boolean dest_empty(j_compress_ptr cinfo) {
  append(cinfo, sizeof WriteState::chunk);
  return TRUE;
}
void dest_term(j_compress_ptr cinfo) {
  WriteState* st = write_state(cinfo);
  append(cinfo, sizeof st->chunk - st->dest.free_in_buffer);
}

bool encode(WriteState& st, const Image& image, int quality) {
  j_compress_ptr cinfo = &st.cinfo;
  cinfo->err = &st.err.pub;
  install_error_manager(st.err);
  st.err.pub.emit_message = [](j_common_ptr, int) {};  // the encoder has no data-damaging warnings
  if (setjmp(st.err.jump)) return false;

  st.created = true;
  jpeg_create_compress(cinfo);
  cinfo->client_data = &st;
  st.dest.init_destination = dest_init;
  st.dest.empty_output_buffer = dest_empty;
  st.dest.term_destination = dest_term;
  cinfo->dest = &st.dest;
  cinfo->image_width = JDIMENSION(image.width);
  cinfo->image_height = JDIMENSION(image.height);
  cinfo->input_components = image.channels;
  cinfo->in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height) {
    // libjpeg takes non-const rows but only reads them.
    JSAMPROW row = const_cast<uint8_t*>(image.row(int(cinfo->next_scanline)));
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

std::vector<uint8_t> encode_jpeg_named(const Image& image, int quality, const std::string& name) {
  MDP_CHECK(image.width > 0 && image.height > 0, "write_jpeg: {}: empty image", name);
  MDP_CHECK(image.bit_depth == 8 && (image.channels == 1 || image.channels == 3),
            "write_jpeg: {}: cannot write a {} image (8-bit gray or RGB only)", name, image.describe());
  MDP_CHECK(image.pixels.size() == image.row_bytes() * size_t(image.height),
            "write_jpeg: {}: {} image holds {} bytes, expected {}", name, image.describe(), image.pixels.size(),
            image.row_bytes() * size_t(image.height));
  MDP_CHECK(quality >= 1 && quality <= 100, "write_jpeg: {}: quality {} not in 1..100", name, quality);
  auto st = std::make_unique<WriteState>();  // 64 KiB chunk: keep it off the stack
  if (!encode(*st, image, quality))
    throw Error(fmt::format("write_jpeg: {}: encoding failed (libjpeg: {})", name, st->err.message));
  return std::move(st->out);
}

}  // namespace

Image read_jpeg_from_memory(const uint8_t* data, size_t size, bool gray_to_rgb, const std::string& name) {
  MDP_CHECK(size > 0, "read_jpeg: {}: empty file", name);
  MDP_CHECK(is_jpeg(data, size), "read_jpeg: {}: not a JPEG file (no SOI marker)", name);
  ReadState st;
  st.data = data;
  st.size = size;
  st.gray_to_rgb = gray_to_rgb;
  st.name = &name;
  if (!decode(st)) {
    if (st.err.truncated)
      throw Error(fmt::format("read_jpeg: {}: truncated file (data ends after {} bytes; libjpeg: {})", name,
                              size, st.err.message));
    throw Error(fmt::format("read_jpeg: {}: corrupt or unsupported JPEG data (libjpeg: {})", name,
                            st.err.message));
  }
  return std::move(st.image);
}

Image read_jpeg(const std::string& path, bool gray_to_rgb) {
  std::vector<uint8_t> bytes = read_file_bytes(path, "read_jpeg");
  return read_jpeg_from_memory(bytes.data(), bytes.size(), gray_to_rgb, path);
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  return encode_jpeg_named(image, quality, "<memory>");
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  std::vector<uint8_t> bytes = encode_jpeg_named(image, quality, path);
  write_file_atomic(path, bytes.data(), bytes.size(), "write_jpeg");
}

}  // namespace mdp::data
