// dataset.cpp: FileListDataset (decode, convert, validate one image/label pair), the label maps, the VOC
// colour map and the small file-listing helpers the readers share. No dataset layout is known here.
#include "data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "data/image_io.h"
#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

LabelMap LabelMap::identity(int num_classes) {
  MDP_CHECK(num_classes >= 1 && num_classes <= 255, "LabelMap: {} classes, expected 1..255", num_classes);
  LabelMap m;
  m.to.fill(kInvalid);
  for (int v = 0; v < num_classes; ++v) m.to[size_t(v)] = int16_t(v);
  m.to[255] = kIgnore;
  m.allowed = fmt::format("0..{} or 255", num_classes - 1);
  return m;
}

LabelMap LabelMap::reduce_zero(int num_classes) {
  MDP_CHECK(num_classes >= 1 && num_classes <= 254, "LabelMap: {} classes, expected 1..254 with reduce_zero_label",
            num_classes);
  LabelMap m;
  m.to.fill(kInvalid);
  m.to[0] = kIgnore;
  for (int v = 1; v <= num_classes; ++v) m.to[size_t(v)] = int16_t(v - 1);
  m.to[255] = kIgnore;
  m.allowed = fmt::format("0..{} or 255 (reduce_zero_label: 0 is ignore)", num_classes);
  return m;
}

FileListDataset::FileListDataset(std::string name, std::vector<std::string> class_names, Palette palette,
                                 std::vector<FileEntry> entries, LabelMap label_map, bool labeled)
    : name_(std::move(name)),
      class_names_(std::move(class_names)),
      palette_(std::move(palette)),
      entries_(std::move(entries)),
      label_map_(std::move(label_map)),
      labeled_(labeled) {
  MDP_CHECK(!labeled_ || !class_names_.empty(), "{}: no class names", name_);
  MDP_CHECK(palette_.size() >= class_names_.size(), "{}: palette has {} colours for {} classes", name_,
            palette_.size(), class_names_.size());
  for (const auto& e : entries_)
    MDP_CHECK(!labeled_ || !e.label_path.empty(), "{}: image {} has no label path", name_, e.image_path);
}

const FileEntry& FileListDataset::entry(int64_t i) const {
  MDP_CHECK(i >= 0 && i < size(), "{}: sample index {} out of range (size {})", name_, i, size());
  return entries_[size_t(i)];
}

std::string FileListDataset::describe(int64_t i) const {
  const FileEntry& e = entry(i);
  if (!labeled_) return "image " + e.image_path;
  return fmt::format("image {}, label {}", e.image_path, e.label_path);
}

Sample FileListDataset::get(int64_t i) const {
  const FileEntry& e = entry(i);
  Sample s;
  s.image_path = e.image_path;
  s.image = read_rgb_image(e.image_path);
  s.width = s.image.width;
  s.height = s.image.height;
  if (labeled_) {
    s.label_path = e.label_path;
    s.label = read_label_map(e.label_path, label_map_, name_, s.width, s.height, e.image_path);
  }
  return s;
}

Image read_rgb_image(const std::string& path) {
  Image src = read_image(path);
  if (src.channels == 3 && src.bit_depth == 8) return src;
  Image out(src.width, src.height, 3);
  const size_t n = size_t(src.width) * size_t(src.height);
  const int c = src.channels;
  for (size_t p = 0; p < n; ++p) {
    for (int k = 0; k < 3; ++k) {
      int ch = c >= 3 ? k : 0;  // gray (+alpha): replicate; RGBA: drop alpha
      size_t idx = p * size_t(c) + size_t(ch);
      out.pixels[p * 3 + size_t(k)] = src.bit_depth == 16 ? src.pixels[2 * idx + 1] : src.pixels[idx];
    }
  }
  return out;
}

std::vector<int32_t> read_label_map(const std::string& path, const LabelMap& map, const std::string& dataset,
                                    int width, int height, const std::string& image_path) {
  Image m = read_png(path, PngMode::Indices);
  MDP_CHECK(m.bit_depth == 8, "{}: label map {}: 16-bit label maps are not supported (8-bit palette or gray PNG "
            "expected)", dataset, path);
  MDP_CHECK(m.channels == 1, "{}: label map {}: {} channels, expected 1", dataset, path, m.channels);
  if (width > 0)
    MDP_CHECK(m.width == width && m.height == height,
              "{}: label map {} is {}x{} but its image {} is {}x{} (size mismatch)", dataset, path, m.width,
              m.height, image_path, width, height);
  const size_t n = size_t(m.width) * size_t(m.height);
  std::vector<int32_t> out(n);
  for (size_t p = 0; p < n; ++p) {
    int16_t v = map.to[m.pixels[p]];
    if (v == LabelMap::kInvalid) {
      int x = int(p % size_t(m.width)), y = int(p / size_t(m.width));
      throw Error(fmt::format("{}: label map {}: value {} at (x={}, y={}) is out of range (allowed {})", dataset,
                              path, int(m.pixels[p]), x, y, map.allowed));
    }
    out[p] = v;
  }
  return out;
}

Palette voc_colormap(int n) {
  Palette p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
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

std::vector<std::string> list_files(const std::string& dir, const std::string& suffix, const char* who) {
  std::error_code ec;
  MDP_CHECK(fs::is_directory(dir, ec), "{}: directory {} not found", who, dir);
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        e.is_regular_file(ec))
      out.push_back(e.path().string());
  }
  MDP_CHECK(!ec, "{}: cannot list directory {} ({})", who, dir, ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> read_lines(const std::string& path, const char* who) {
  std::ifstream in(path);
  MDP_CHECK(in.good(), "{}: cannot open {}", who, path);
  std::vector<std::string> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    // A NUL would cut the name short wherever it becomes a path or a message.
    MDP_CHECK(line.find('\0') == std::string::npos, "{}: {} line {} has a NUL byte (not a text file?)", who, path, n);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    out.push_back(line.substr(start));
  }
  return out;
}

}  // namespace mdp::data
