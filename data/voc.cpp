// voc.cpp: the PASCAL VOC 2012 layout (split file of ids -> JPEGImages + SegmentationClass[Aug]).
#include "data/voc.h"

#include <filesystem>

#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
  return names;
}

Palette voc_palette() { return voc_colormap(21); }

std::shared_ptr<FileListDataset> open_voc(const VocOptions& o) {
  fs::path root = o.root;
  if (!fs::exists(root / "ImageSets") && fs::is_directory(root / "VOC2012")) root /= "VOC2012";
  MDP_CHECK(fs::is_directory(root), "voc: root directory {} not found", root.string());
  fs::path split_file = root / "ImageSets" / "Segmentation" / (o.split + ".txt");
  MDP_CHECK(fs::exists(split_file), "voc: split file {} not found (split '{}')", split_file.string(), o.split);
  bool aug = o.labels == VocOptions::Labels::ClassAug || (o.labels == VocOptions::Labels::Auto && o.split == "aug");
  fs::path label_dir = root / (aug ? "SegmentationClassAug" : "SegmentationClass");
  std::vector<FileEntry> entries;
  for (const std::string& id : read_lines(split_file.string(), "voc"))
    entries.push_back({(root / "JPEGImages" / (id + ".jpg")).string(), (label_dir / (id + ".png")).string()});
  return std::make_shared<FileListDataset>("voc", voc_class_names(), voc_palette(), std::move(entries),
                                           LabelMap::identity(21), true);
}

}  // namespace mdp::data
