// folder.cpp: the generic image-dir + annotation-dir layout and its layout.txt description.
#include "data/folder.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

namespace {

std::string under(const std::string& root, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(root) / path).string();
}

bool parse_bool(const std::string& v, const std::string& where) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw Error(fmt::format("{}: '{}' is not a boolean (true/false)", where, v));
}

}  // namespace

FolderOptions read_folder_layout(const std::string& root, const std::string& split) {
  FolderOptions o;
  o.root = root;
  std::string path = (fs::path(root) / "layout.txt").string();
  std::ifstream in(path);
  MDP_CHECK(in.good(), "folder: cannot open {}", path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string where = fmt::format("folder: {} line {}", path, n);
    MDP_CHECK(line.find('\0') == std::string::npos, "{}: has a NUL byte (not a text file?)", where);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    MDP_CHECK(eq != std::string::npos, "{}: '{}' is not 'key = value'", where, line);
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "name") o.name = value;
    else if (key == "image_dir") o.image_dir = value;
    else if (key == "label_dir") o.label_dir = value;
    else if (key == "image_suffix") o.image_suffix = value;
    else if (key == "label_suffix") o.label_suffix = value;
    else if (key == "split_file") o.split_file = value;
    else if (key == "classes_file") o.classes_file = value;
    else if (key == "palette_file") o.palette_file = value;
    else if (key == "reduce_zero_label") o.reduce_zero_label = parse_bool(value, where);
    else if (key == "labeled") o.labeled = parse_bool(value, where);
    else if (key == "num_classes") {
      // The whole value a number, and one an 8-bit label map can hold (open_folder makes that many names).
      int k = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), k);
      MDP_CHECK(ec == std::errc() && end == value.data() + value.size() && k >= 0 && k <= 255,
                "{}: num_classes '{}' is not a number of classes from 0 to 255", where, value);
      o.num_classes = k;
    } else if (key == "class_names") {
      std::stringstream ss(value);
      std::string item;
      while (std::getline(ss, item, ',')) o.class_names.push_back(trim(item));
    } else {
      throw Error(fmt::format("{}: unknown key '{}'", where, key));
    }
  }
  o.split_file = split_file_of(o.split_file, split);
  return o;
}

std::string split_file_of(std::string pattern, const std::string& split) {
  size_t at = pattern.find("{split}");
  if (at != std::string::npos) pattern.replace(at, 7, split);
  return pattern;
}

void write_folder_layout(const FolderOptions& o) {
  std::string text = fmt::format(
      "# layout.txt: how the generic folder reader (data/folder.h) reads this directory\n"
      "name = {}\nimage_dir = {}\nlabel_dir = {}\nimage_suffix = {}\nlabel_suffix = {}\nsplit_file = {}\n"
      "classes_file = {}\npalette_file = {}\nnum_classes = {}\nreduce_zero_label = {}\nlabeled = {}\n",
      o.name, o.image_dir, o.label_dir, o.image_suffix, o.label_suffix, o.split_file, o.classes_file,
      o.palette_file, o.num_classes, o.reduce_zero_label, o.labeled);
  std::string path = (fs::path(o.root) / "layout.txt").string();
  write_file_atomic(path, reinterpret_cast<const uint8_t*>(text.data()), text.size(), "folder");
}

std::shared_ptr<FileListDataset> open_folder(const FolderOptions& o) {
  const std::string who = fmt::format("{} ({})", o.name, o.root);  // every message names the dataset's folder
  MDP_CHECK(fs::is_directory(o.root), "{}: root directory {} not found", who, o.root);
  std::vector<std::string> names = o.class_names;
  if (names.empty() && !o.classes_file.empty()) names = read_lines(under(o.root, o.classes_file), who.c_str());
  MDP_CHECK(o.num_classes >= 0 && o.num_classes <= 255, "{}: num_classes {}: from 0 to 255 classes fit in 8-bit label maps", who, o.num_classes);
  if (names.empty())
    for (int i = 0; i < o.num_classes; ++i) names.push_back(fmt::format("class_{}", i));
  MDP_CHECK(!names.empty() || !o.labeled, "{}: no classes: give class_names, classes_file or num_classes (or "
            "labeled = false for images only)", who);
  int limit = o.reduce_zero_label ? 254 : 255;
  MDP_CHECK(int(names.size()) <= limit, "{}: {} classes, at most {} fit in 8-bit label maps", who, names.size(),
            limit);

  Palette palette = voc_colormap(256);
  if (!o.palette_file.empty()) {
    std::string path = under(o.root, o.palette_file);
    palette.clear();
    for (const std::string& line : read_lines(path, who.c_str())) {
      std::istringstream ss(line);
      int r, g, b;
      MDP_CHECK(bool(ss >> r >> g >> b) && r >= 0 && r < 256 && g >= 0 && g < 256 && b >= 0 && b < 256,
                "{}: palette file {}: '{}' is not 'r g b' in 0..255", who, path, line);
      palette.push_back({uint8_t(r), uint8_t(g), uint8_t(b)});
    }
    MDP_CHECK(palette.size() >= names.size(), "{}: palette file {} has {} colours for {} classes", who, path,
              palette.size(), names.size());
  }
  palette.resize(names.size());

  std::string image_dir = under(o.root, o.image_dir), label_dir = under(o.root, o.label_dir);
  std::vector<std::string> ids;
  if (!o.split_file.empty()) {
    ids = read_lines(under(o.root, o.split_file), who.c_str());
  } else {
    for (const std::string& path : list_files(image_dir, o.image_suffix, who.c_str())) {
      std::string file = fs::path(path).filename().string();
      ids.push_back(file.substr(0, file.size() - o.image_suffix.size()));
    }
  }
  std::vector<FileEntry> entries;
  for (const std::string& id : ids) {
    FileEntry e;
    e.image_path = (fs::path(image_dir) / (id + o.image_suffix)).string();
    if (o.labeled) e.label_path = (fs::path(label_dir) / (id + o.label_suffix)).string();
    entries.push_back(std::move(e));
  }
  int k = int(names.size());
  LabelMap map;  // unlabeled without classes: no value is allowed (the map is never used)
  map.to.fill(LabelMap::kInvalid);
  map.allowed = "nothing (unlabeled)";
  if (k > 0) map = o.reduce_zero_label ? LabelMap::reduce_zero(k) : LabelMap::identity(k);
  return std::make_shared<FileListDataset>(o.name, std::move(names), std::move(palette), std::move(entries),
                                           std::move(map), o.labeled);
}

}  // namespace mdp::data
