// cityscapes.cpp: the Cityscapes layout (cities under leftImg8bit/<split> and gtFine/<split>), its 19
// classes, palette and the labelId -> trainId table.
#include "data/cityscapes.h"

#include <algorithm>
#include <filesystem>

#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

const std::vector<std::string>& cityscapes_class_names() {
  static const std::vector<std::string> names = {
      "road",  "sidewalk",   "building", "wall",   "fence", "pole",  "traffic light",
      "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car",
      "truck", "bus", "train", "motorcycle", "bicycle"};
  return names;
}

Palette cityscapes_palette() {
  return {{{128, 64, 128}}, {{244, 35, 232}}, {{70, 70, 70}},   {{102, 102, 156}}, {{190, 153, 153}},
          {{153, 153, 153}}, {{250, 170, 30}}, {{220, 220, 0}},  {{107, 142, 35}},  {{152, 251, 152}},
          {{70, 130, 180}},  {{220, 20, 60}},  {{255, 0, 0}},    {{0, 0, 142}},     {{0, 0, 70}},
          {{0, 60, 100}},    {{0, 80, 100}},   {{0, 0, 230}},    {{119, 11, 32}}};
}

const std::array<uint8_t, 34>& cityscapes_label_to_train_id() {
  // id: 0 unlabeled, 1 ego vehicle, 2 rectification border, 3 out of roi, 4 static, 5 dynamic, 6 ground,
  // 7 road, 8 sidewalk, 9 parking, 10 rail track, 11 building, 12 wall, 13 fence, 14 guard rail,
  // 15 bridge, 16 tunnel, 17 pole, 18 polegroup, 19 traffic light, 20 traffic sign, 21 vegetation,
  // 22 terrain, 23 sky, 24 person, 25 rider, 26 car, 27 truck, 28 bus, 29 caravan, 30 trailer, 31 train,
  // 32 motorcycle, 33 bicycle. (License plate, id -1, never appears in the 8-bit files.)
  static const std::array<uint8_t, 34> table = {
      255, 255, 255, 255, 255, 255, 255, 0,   1,  255, 255, 2,  3,  4,   255, 255, 255,
      5,   255, 6,   7,   8,   9,   10,  11,  12, 13,  14,  15, 255, 255, 16, 17,  18};
  return table;
}

namespace {

LabelMap label_ids_map() {
  LabelMap m;
  m.to.fill(LabelMap::kInvalid);
  const auto& table = cityscapes_label_to_train_id();
  for (size_t id = 0; id < table.size(); ++id) m.to[id] = table[id];
  m.allowed = "raw label ids 0..33";
  return m;
}

const char* kImageSuffix = "_leftImg8bit.png";

}  // namespace

std::shared_ptr<FileListDataset> open_cityscapes(const CityscapesOptions& o) {
  fs::path root = o.root;
  MDP_CHECK(fs::is_directory(root), "cityscapes: root directory {} not found", root.string());
  fs::path image_root = root / "leftImg8bit" / o.split, label_root = root / "gtFine" / o.split;
  MDP_CHECK(fs::is_directory(image_root), "cityscapes: directory {} not found (split '{}')", image_root.string(),
            o.split);
  std::vector<std::string> cities;
  for (const auto& e : fs::directory_iterator(image_root))
    if (e.is_directory()) cities.push_back(e.path().filename().string());
  std::sort(cities.begin(), cities.end());

  std::vector<std::pair<std::string, std::string>> frames;  // (image path, label path without suffix)
  for (const std::string& city : cities)
    for (const std::string& path : list_files((image_root / city).string(), kImageSuffix, "cityscapes")) {
      std::string name = fs::path(path).filename().string();
      std::string frame = name.substr(0, name.size() - std::string(kImageSuffix).size());
      frames.emplace_back(path, (label_root / city / (frame + "_gtFine_")).string());
    }

  bool train_ids = o.labels == CityscapesOptions::Labels::TrainIds;
  if (o.labels == CityscapesOptions::Labels::Auto)
    train_ids = frames.empty() || fs::exists(frames.front().second + "labelTrainIds.png");
  std::vector<FileEntry> entries;
  for (const auto& [image, label] : frames)
    entries.push_back({image, label + (train_ids ? "labelTrainIds.png" : "labelIds.png")});
  return std::make_shared<FileListDataset>("cityscapes", cityscapes_class_names(), cityscapes_palette(),
                                           std::move(entries), train_ids ? LabelMap::identity(19) : label_ids_map(),
                                           true);
}

}  // namespace mdp::data
