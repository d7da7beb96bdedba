// test_codecs.cpp: the PNG/JPEG codecs on the real samples in ../shared/data, checked against PIL's
// decoding (checksums written by tools/pil_reference.py, path in $MDP_PIL_REFERENCE), write/read round
// trips, and the errors for missing, truncated, corrupt and non-image files. Not a speed test.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"
#include "data/jpeg.h"
#include "data/png.h"
#include "tensor/error.h"

namespace fs = std::filesystem;
using namespace mdp::data;

namespace {

// Tests run from the repository root (CTest's WORKING_DIRECTORY); $MDP_SHARED_DATA overrides.
fs::path data_dir() {
  const char* env = std::getenv("MDP_SHARED_DATA");
  return env ? fs::path(env) : fs::path("../shared/data");
}

std::string sample(const std::string& rel) { return (data_dir() / rel).string(); }

struct Checksums {
  int width = 0, height = 0, channels = 0;
  uint64_t sum = 0, sumsq = 0, wsum = 0;
  std::vector<uint64_t> first;
};

// The same sums as tools/pil_reference.py, over all samples in HWC order.
Checksums checksums(const Image& img) {
  Checksums c;
  c.width = img.width;
  c.height = img.height;
  c.channels = img.channels;
  size_t n = img.num_samples();
  for (size_t i = 0; i < n; ++i) {
    uint64_t v = img.bit_depth == 16 ? uint64_t(img.pixels[2 * i]) | (uint64_t(img.pixels[2 * i + 1]) << 8)
                                     : uint64_t(img.pixels[i]);
    c.sum += v;
    c.sumsq += v * v;
    c.wsum += v * (uint64_t(i % 65521) + 1);
    if (i < 16) c.first.push_back(v);
  }
  return c;
}

struct Reference {
  std::string key, mode;
  Checksums sums;
};

std::vector<Reference> load_reference() {
  const char* path = std::getenv("MDP_PIL_REFERENCE");
  BOOST_TEST_REQUIRE(path != nullptr,
                     "MDP_PIL_REFERENCE is not set: run through ctest, or run tools/pil_reference.py --out F "
                     "with /usr/bin/python3 and set MDP_PIL_REFERENCE=F");
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot open the PIL reference " << path);
  std::vector<Reference> refs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    Reference r;
    ss >> r.key >> r.mode >> r.sums.width >> r.sums.height >> r.sums.channels >> r.sums.sum >> r.sums.sumsq >>
        r.sums.wsum;
    uint64_t v;
    while (ss >> v) r.sums.first.push_back(v);
    BOOST_TEST_REQUIRE(!ss.bad(), "bad reference line: " << line);
    refs.push_back(std::move(r));
  }
  return refs;
}

// A fresh directory for files the tests write; removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("mdp_test_codecs." + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::vector<uint8_t> slurp(const std::string& path) { return read_file_bytes(path, "test"); }

void spit(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A predicate for BOOST_CHECK_EXCEPTION: the message names `path` and contains `word`.
auto mentions(const std::string& path, const std::string& word) {
  return [path, word](const mdp::Error& e) {
    std::string msg = e.what();
    bool ok = msg.find(path) != std::string::npos && msg.find(word) != std::string::npos;
    BOOST_TEST_MESSAGE("error: " << msg);
    if (!ok) BOOST_TEST_MESSAGE("expected the path '" << path << "' and '" << word << "' in: " << msg);
    return ok;
  };
}

// The PASCAL VOC colour map (bit-interleaved), 256 entries.
Palette voc_palette() {
  Palette p(256);
  for (int i = 0; i < 256; ++i) {
    int c = i, r = 0, g = 0, b = 0;
    for (int j = 0; j < 8; ++j) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p[size_t(i)] = {uint8_t(r), uint8_t(g), uint8_t(b)};
  }
  return p;
}

std::set<int> distinct_values(const Image& img) {
  std::set<int> s;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < img.channels; ++c) s.insert(img.sample(y, x, c));
  return s;
}

Image pattern(int w, int h, int c, int depth) {
  Image img(w, h, c, depth);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        img.set_sample(y, x, k,
                       depth == 16 ? (x * 977 + y * 131 + k * 7919) & 0xffff : (x * 7 + y * 13 + k * 61) & 0xff);
  return img;
}

bool no_temporaries_left(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codecs)

// Every sample, and every synthetic file in a format the samples lack, decodes to exactly what PIL
// decodes (PNG and JPEG alike: Debian's PIL links the same libjpeg-turbo 2.1.5 and we use its defaults,
// so JPEG is compared exactly, not within +-1).
BOOST_AUTO_TEST_CASE(matches_pil_on_every_sample) {
  std::vector<Reference> refs = load_reference();
  BOOST_TEST_REQUIRE(fs::is_directory(data_dir()), "sample data not found at " << fs::absolute(data_dir()));

  // Each PNG/JPEG on disk must have a reference entry, so a reference that silently skipped files fails.
  std::set<std::string> keys;
  for (const auto& r : refs) keys.insert(r.key);
  size_t sample_refs = 0;
  for (const auto& r : refs) sample_refs += r.key.rfind("synthetic/", 0) != 0;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_dir())) {
    std::string ext = e.path().extension().string();
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") continue;
    ++files;
    std::string key = fs::relative(e.path(), data_dir()).generic_string();
    BOOST_TEST(keys.count(key) == 1u, "no PIL reference for " << key);
  }
  BOOST_TEST(files >= 30);
  BOOST_TEST(sample_refs >= size_t(files));

  // "synthetic/<name>": the small files in formats the samples lack, written by the script next to the
  // reference file.
  fs::path synthetic = fs::path(std::getenv("MDP_PIL_REFERENCE")).parent_path() / "pil_synthetic";
  int compared = 0, synthetic_count = 0;
  for (const auto& r : refs) {
    BOOST_TEST_CONTEXT(r.key << " [" << r.mode << "]") {
      bool is_synthetic = r.key.rfind("synthetic/", 0) == 0;
      synthetic_count += is_synthetic;
      std::string path = is_synthetic ? (synthetic / r.key.substr(10)).string() : sample(r.key);
      Image img;
      if (r.mode == "auto") {
        img = read_png(path, PngMode::Auto);
        Image via = read_image(path);
        BOOST_TEST((via.pixels == img.pixels && via.channels == img.channels), "read_image differs");
      } else if (r.mode == "indices") {
        img = read_png(path, PngMode::Indices);
      } else if (r.mode == "jpeg") {
        img = read_jpeg(path);
        Image via = read_image(path);
        BOOST_TEST((via.pixels == img.pixels && via.channels == img.channels), "read_image differs");
      } else {
        BOOST_FAIL("unknown mode in the reference: " << r.mode);
      }
      Checksums got = checksums(img);
      BOOST_TEST(got.width == r.sums.width);
      BOOST_TEST(got.height == r.sums.height);
      BOOST_TEST(got.channels == r.sums.channels);
      BOOST_TEST(got.sum == r.sums.sum);
      BOOST_TEST(got.sumsq == r.sums.sumsq);
      BOOST_TEST(got.wsum == r.sums.wsum);
      BOOST_TEST(got.first == r.sums.first, boost::test_tools::per_element());
      ++compared;
    }
  }
  BOOST_TEST(synthetic_count >= 20);
  BOOST_TEST_MESSAGE("compared " << compared << " decodings with PIL (" << files << " sample files, "
                                 << synthetic_count << " decodings of synthetic files)");
}

// The label files carry the classes the README lists, in the formats the datasets need.
BOOST_AUTO_TEST_CASE(label_maps_have_the_expected_formats_and_values) {
  // VOC palette PNG read as indices equals the single-channel SegmentationClassAug derived from it.
  for (const char* id : {"2011_000003", "2011_000006", "2011_000025"}) {
    BOOST_TEST_CONTEXT(id) {
      std::string pal_path = sample(std::string("VOCdevkit/VOC2012/SegmentationClass/") + id + ".png");
      std::string aug_path = sample(std::string("VOCdevkit/VOC2012/SegmentationClassAug/") + id + ".png");
      Image pal = read_png(pal_path, PngMode::Indices);
      Image aug = read_png(aug_path, PngMode::Indices);
      BOOST_TEST(pal.channels == 1);
      BOOST_TEST(pal.bit_depth == 8);
      BOOST_TEST((pal.pixels == aug.pixels));
      std::set<int> allowed = {0, 5, 6, 7, 9, 15, 18, 255};
      for (int v : distinct_values(pal)) BOOST_TEST(allowed.count(v) == 1u, "VOC label " << v);
      // Auto expands the palette to the VOC colours.
      Image rgb = read_png(pal_path, PngMode::Auto);
      BOOST_TEST(rgb.channels == 3);
      Palette voc = voc_palette();
      bool same = true;
      for (int y = 0; y < rgb.height && same; ++y)
        for (int x = 0; x < rgb.width && same; ++x)
          for (int c = 0; c < 3; ++c)
            same = same && rgb.sample(y, x, c) == voc[size_t(pal.sample(y, x))][size_t(c)];
      BOOST_TEST(same, "palette expansion differs from the VOC colour map");
    }
  }
  // A 4-bit palette PNG (pseudo_dataset) unpacks to indices 0..3.
  Image gt = read_png(sample("pseudo_dataset/gts/00003_gt.png"), PngMode::Indices);
  BOOST_TEST(gt.channels == 1);
  for (int v : distinct_values(gt)) BOOST_TEST(v <= 3);
  // Cityscapes: 16-bit instance ids stay 16-bit (ids like 26001 = class 26, instance 1).
  Image inst = read_png(sample("cityscapes/gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png"));
  BOOST_TEST(inst.bit_depth == 16);
  BOOST_TEST(inst.channels == 1);
  std::set<int> ids = distinct_values(inst);
  BOOST_TEST(ids.count(26001) == 1u);
  BOOST_TEST(*ids.rbegin() > 255);
  Image train = read_png(sample("cityscapes/gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"),
                         PngMode::Indices);
  std::set<int> expected = {0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 255};
  BOOST_TEST((distinct_values(train) == expected));
  // RGB photo PNG: Indices mode refuses it.
  std::string photo = sample("cityscapes/leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png");
  BOOST_CHECK_EXCEPTION(read_png(photo, PngMode::Indices), mdp::Error, mentions(photo, "Indices mode"));
}

BOOST_AUTO_TEST_CASE(png_round_trips) {
  TempDir tmp;
  struct Case { int channels, depth; };
  for (Case c : {Case{1, 8}, Case{2, 8}, Case{3, 8}, Case{4, 8}, Case{1, 16}}) {
    BOOST_TEST_CONTEXT(c.channels << " channels, " << c.depth << "-bit") {
      Image img = pattern(37, 23, c.channels, c.depth);
      std::string path = tmp.file("rt.png");
      write_png(path, img);
      Image back = read_png(path, PngMode::Auto);
      BOOST_TEST(back.width == img.width);
      BOOST_TEST(back.height == img.height);
      BOOST_TEST(back.channels == img.channels);
      BOOST_TEST(back.bit_depth == img.bit_depth);
      BOOST_TEST((back.pixels == img.pixels));
      // From memory, through the dispatcher too.
      std::vector<uint8_t> bytes = encode_png(img, 9);
      BOOST_TEST((read_image_from_memory(bytes.data(), bytes.size()).pixels == img.pixels));
    }
  }
  BOOST_TEST(no_temporaries_left(tmp.path));

  // A real label map rewritten with the VOC palette: same indices back, same colours as the original.
  std::string src = sample("VOCdevkit/VOC2012/SegmentationClass/2011_000003.png");
  Image labels = read_png(src, PngMode::Indices);
  std::string path = tmp.file("label.png");
  write_indexed_png(path, labels, voc_palette());
  BOOST_TEST((read_png(path, PngMode::Indices).pixels == labels.pixels));
  BOOST_TEST((read_png(path, PngMode::Auto).pixels == read_png(src, PngMode::Auto).pixels));
  // Overwriting an existing file is atomic and leaves no temporary behind.
  write_indexed_png(path, labels, voc_palette());
  BOOST_TEST(no_temporaries_left(tmp.path));

  // A small palette: every index must be inside it.
  Image small = pattern(8, 4, 1, 8);
  for (auto& v : small.pixels) v %= 4;
  Palette four = {{{0, 0, 0}}, {{255, 0, 0}}, {{0, 255, 0}}, {{0, 0, 255}}};
  write_indexed_png(tmp.file("four.png"), small, four);
  Image four_back = read_png(tmp.file("four.png"), PngMode::Indices);
  BOOST_TEST((four_back.pixels == small.pixels));
  Image four_rgb = read_png(tmp.file("four.png"), PngMode::Auto);
  BOOST_TEST(four_rgb.channels == 3);
  BOOST_TEST(four_rgb.sample(0, 1, 0) == int(four[small.pixels[1]][0]));

  std::string bad = tmp.file("bad.png");
  BOOST_CHECK_EXCEPTION(write_indexed_png(bad, labels, four), mdp::Error,
                        mentions(bad, "outside the 4-entry palette"));
  BOOST_TEST(!fs::exists(bad));
  std::string nodir = tmp.file("no/such/dir/x.png");
  BOOST_CHECK_EXCEPTION(write_png(nodir, small), mdp::Error, mentions(nodir, "cannot create"));
  BOOST_CHECK_EXCEPTION(write_png(bad, Image(4, 4, 3, 16)), mdp::Error, mentions(bad, "cannot write"));
}

BOOST_AUTO_TEST_CASE(jpeg_round_trips_and_gray) {
  TempDir tmp;
  // RGB: lossy, so compare loosely; a real photo at quality 95 stays within a few levels on average.
  Image photo = read_jpeg(sample("VOCdevkit/VOC2012/JPEGImages/2011_000003.jpg"));
  std::string path = tmp.file("photo.jpg");
  write_jpeg(path, photo, 95);
  Image back = read_jpeg(path);
  BOOST_TEST(back.width == photo.width);
  BOOST_TEST(back.height == photo.height);
  BOOST_TEST(back.channels == 3);
  double err = 0;
  for (size_t i = 0; i < photo.pixels.size(); ++i) err += std::abs(int(photo.pixels[i]) - int(back.pixels[i]));
  err /= double(photo.pixels.size());
  BOOST_TEST(err < 3.0, "mean absolute error " << err);

  // Gray: 1 channel as stored, or 3 equal channels on request.
  Image gray = pattern(40, 24, 1, 8);
  std::string gpath = tmp.file("gray.jpg");
  write_jpeg(gpath, gray, 90);
  Image g1 = read_jpeg(gpath);
  Image g3 = read_jpeg(gpath, /*gray_to_rgb=*/true);
  BOOST_TEST(g1.channels == 1);
  BOOST_TEST(g3.channels == 3);
  bool equal = true;
  for (int y = 0; y < g1.height; ++y)
    for (int x = 0; x < g1.width; ++x)
      for (int c = 0; c < 3; ++c) equal = equal && g3.sample(y, x, c) == g1.sample(y, x);
  BOOST_TEST(equal);
  BOOST_TEST(read_image(gpath).channels == 1);
  BOOST_TEST(no_temporaries_left(tmp.path));

  std::string bad = tmp.file("rgba.jpg");
  BOOST_CHECK_EXCEPTION(write_jpeg(bad, Image(4, 4, 4)), mdp::Error, mentions(bad, "cannot write"));
  BOOST_CHECK_EXCEPTION(write_jpeg(bad, Image(4, 4, 3), 0), mdp::Error, mentions(bad, "quality"));
}

BOOST_AUTO_TEST_CASE(bad_files_are_errors_naming_the_file) {
  TempDir tmp;
  std::string missing = tmp.file("missing.png");
  BOOST_CHECK_EXCEPTION(read_png(missing), mdp::Error, mentions(missing, "cannot open"));
  BOOST_CHECK_EXCEPTION(read_jpeg(missing), mdp::Error, mentions(missing, "cannot open"));
  BOOST_CHECK_EXCEPTION(read_image(missing), mdp::Error, mentions(missing, "No such file"));
  std::string dir = tmp.path.string();
  BOOST_CHECK_EXCEPTION(read_image(dir), mdp::Error, mentions(dir, "not a regular file"));

  std::vector<uint8_t> png = slurp(sample("VOCdevkit/VOC2012/SegmentationClass/2011_000003.png"));
  std::vector<uint8_t> jpg = slurp(sample("VOCdevkit/VOC2012/JPEGImages/2011_000003.jpg"));
  auto cut = [&](const std::vector<uint8_t>& bytes, size_t n, const std::string& name) {
    std::string path = tmp.file(name);
    spit(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(n)));
    return path;
  };

  // Truncated: in the middle, just before the end marker, right after the signature.
  for (size_t n : {png.size() / 2, png.size() - 12, size_t(8), size_t(30)}) {
    std::string path = cut(png, n, "cut" + std::to_string(n) + ".png");
    BOOST_CHECK_EXCEPTION(read_png(path), mdp::Error, mentions(path, "truncated"));
    BOOST_CHECK_EXCEPTION(read_png(path, PngMode::Indices), mdp::Error, mentions(path, "truncated"));
    BOOST_CHECK_EXCEPTION(read_image(path), mdp::Error, mentions(path, "truncated"));
  }
  for (size_t n : {jpg.size() / 2, jpg.size() - 2, size_t(3), size_t(200)}) {
    std::string path = cut(jpg, n, "cut" + std::to_string(n) + ".jpg");
    BOOST_CHECK_EXCEPTION(read_jpeg(path), mdp::Error, mentions(path, "truncated"));
    BOOST_CHECK_EXCEPTION(read_image(path), mdp::Error, mentions(path, "truncated"));
  }

  // Corrupt (right length, damaged bytes): PNG's CRCs catch it; JPEG's entropy decoder does.
  {
    std::vector<uint8_t> bad = png;
    for (size_t i = bad.size() / 2; i < bad.size() / 2 + 16; ++i) bad[i] ^= 0x5a;
    std::string path = tmp.file("corrupt.png");
    spit(path, bad);
    BOOST_CHECK_EXCEPTION(read_png(path), mdp::Error, mentions(path, "corrupt"));
  }
  {
    std::vector<uint8_t> bad = jpg;
    for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = 0xff;
    std::string path = tmp.file("corrupt.jpg");
    spit(path, bad);
    BOOST_CHECK_EXCEPTION(read_jpeg(path), mdp::Error, mentions(path, "JPEG"));
  }

  // Not an image at all; an empty file; each format read by the other's decoder.
  std::string text = tmp.file("notes.png");
  {
    std::ofstream(text) << "this is a text file, not a PNG\n";
  }
  BOOST_CHECK_EXCEPTION(read_png(text), mdp::Error, mentions(text, "not a PNG"));
  BOOST_CHECK_EXCEPTION(read_jpeg(text), mdp::Error, mentions(text, "not a JPEG"));
  BOOST_CHECK_EXCEPTION(read_image(text), mdp::Error, mentions(text, "not a PNG or JPEG"));
  std::string empty = tmp.file("empty.jpg");
  spit(empty, {});
  BOOST_CHECK_EXCEPTION(read_jpeg(empty), mdp::Error, mentions(empty, "empty"));
  BOOST_CHECK_EXCEPTION(read_image(empty), mdp::Error, mentions(empty, "empty"));
  std::string jpg_as_png = cut(jpg, jpg.size(), "photo.png");
  BOOST_CHECK_EXCEPTION(read_png(jpg_as_png), mdp::Error, mentions(jpg_as_png, "not a PNG"));
  BOOST_TEST(read_image(jpg_as_png).channels == 3);  // read_image goes by content, not extension

  // From memory, the name given is the one in the message.
  BOOST_CHECK_EXCEPTION(read_png_from_memory(png.data(), 100, PngMode::Auto, "buffer#7"), mdp::Error,
                        mentions("buffer#7", "truncated"));
  BOOST_CHECK_EXCEPTION(read_jpeg_from_memory(jpg.data(), 100, false, "buffer#8"), mdp::Error,
                        mentions("buffer#8", "truncated"));
}

BOOST_AUTO_TEST_CASE(image_checks_its_shape) {
  Image img(5, 3, 3);
  BOOST_TEST(img.pixels.size() == 45u);
  BOOST_TEST(img.row_bytes() == 15u);
  BOOST_TEST(img.describe() == "5x3x3 8-bit");
  Image deep(5, 3, 1, 16);
  deep.set_sample(2, 4, 0, 40000);
  BOOST_TEST(deep.sample(2, 4) == 40000);
  BOOST_TEST(deep.pixels[2 * 14] == (40000 & 0xff));  // little-endian
  BOOST_CHECK_THROW(Image(0, 3, 3), mdp::Error);
  BOOST_CHECK_THROW(Image(3, 3, 5), mdp::Error);
  BOOST_CHECK_THROW(Image(3, 3, 1, 12), mdp::Error);
  BOOST_CHECK_THROW(Image(1 << 20, 1 << 20, 3), mdp::Error);
}

BOOST_AUTO_TEST_SUITE_END()
