// coco_stuff.cpp: the COCO-Stuff 164k layout (images/<split>/*.jpg + annotations/<split>/*_labelTrainIds.png),
// its 171 class names and palette (MMSegmentation's tables).
#include "data/coco_stuff.h"

#include <filesystem>

#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

const std::vector<std::string>& coco_stuff_class_names() {
  static const std::vector<std::string> names = {
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant",
    "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
    "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup",
    "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake",
    "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv",
    "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush", "banner", "blanket", "branch", "bridge",
    "building-other", "bush", "cabinet", "cage", "cardboard", "carpet", "ceiling-other",
    "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain",
    "desk-stuff", "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone",
    "floor-tile", "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other",
    "grass", "gravel", "ground-other", "hill", "house", "leaves", "light",
    "mat", "metal", "mirror-stuff", "moss", "mountain", "mud", "napkin",
    "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform",
    "playingfield", "railing", "railroad", "river", "road", "rock", "roof",
    "rug", "salad", "sand", "sea", "shelf", "sky-other", "skyscraper",
    "snow", "solid-other", "stairs", "stone", "straw", "structural-other", "table",
    "tent", "textile-other", "towel", "tree", "vegetable", "wall-brick", "wall-concrete",
    "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other", "waterdrops",
    "window-blind", "window-other", "wood",
  };
  return names;
}

Palette coco_stuff_palette() {
  static const uint8_t colours[171][3] = {
    {0, 192, 64}, {0, 192, 64}, {0, 64, 96}, {128, 192, 192}, {0, 64, 64}, {0, 192, 224}, {0, 192, 192},
    {128, 192, 64}, {0, 192, 96}, {128, 192, 64}, {128, 32, 192}, {0, 0, 224}, {0, 0, 64}, {0, 160, 192},
    {128, 0, 96}, {128, 0, 192}, {0, 32, 192}, {128, 128, 224}, {0, 0, 192}, {128, 160, 192}, {128, 128, 0},
    {128, 0, 32}, {128, 32, 0}, {128, 0, 128}, {64, 128, 32}, {0, 160, 0}, {0, 0, 0}, {192, 128, 160},
    {0, 32, 0}, {0, 128, 128}, {64, 128, 160}, {128, 160, 0}, {0, 128, 0}, {192, 128, 32}, {128, 96, 128},
    {0, 0, 128}, {64, 0, 32}, {0, 224, 128}, {128, 0, 0}, {192, 0, 160}, {0, 96, 128}, {128, 128, 128},
    {64, 0, 160}, {128, 224, 128}, {128, 128, 64}, {192, 0, 32}, {128, 96, 0}, {128, 0, 192}, {0, 128, 32},
    {64, 224, 0}, {0, 0, 64}, {128, 128, 160}, {64, 96, 0}, {0, 128, 192}, {0, 128, 160}, {192, 224, 0},
    {0, 128, 64}, {128, 128, 32}, {192, 32, 128}, {0, 64, 192}, {0, 0, 32}, {64, 160, 128}, {128, 64, 64},
    {128, 0, 160}, {64, 32, 128}, {128, 192, 192}, {0, 0, 160}, {192, 160, 128}, {128, 192, 0}, {128, 0, 96},
    {192, 32, 0}, {128, 64, 128}, {64, 128, 96}, {64, 160, 0}, {0, 64, 0}, {192, 128, 224}, {64, 32, 0},
    {0, 192, 128}, {64, 128, 224}, {192, 160, 0}, {0, 192, 0}, {192, 128, 96}, {192, 96, 128}, {0, 64, 128},
    {64, 0, 96}, {64, 224, 128}, {128, 64, 0}, {192, 0, 224}, {64, 96, 128}, {128, 192, 128}, {64, 0, 224},
    {192, 224, 128}, {128, 192, 64}, {192, 0, 96}, {192, 96, 0}, {128, 64, 192}, {0, 128, 96}, {0, 224, 0},
    {64, 64, 64}, {128, 128, 224}, {0, 96, 0}, {64, 192, 192}, {0, 128, 224}, {128, 224, 0}, {64, 192, 64},
    {128, 128, 96}, {128, 32, 128}, {64, 0, 192}, {0, 64, 96}, {0, 160, 128}, {192, 0, 64}, {128, 64, 224},
    {0, 32, 128}, {192, 128, 192}, {0, 64, 224}, {128, 160, 128}, {192, 128, 0}, {128, 64, 32}, {128, 32, 64},
    {192, 0, 128}, {64, 192, 32}, {0, 160, 64}, {64, 0, 0}, {192, 192, 160}, {0, 32, 64}, {64, 128, 128},
    {64, 192, 160}, {128, 160, 64}, {64, 128, 0}, {192, 192, 32}, {128, 96, 192}, {64, 0, 128}, {64, 64, 32},
    {0, 224, 192}, {192, 0, 0}, {192, 64, 160}, {0, 96, 192}, {192, 128, 128}, {64, 64, 160}, {128, 224, 192},
    {192, 128, 64}, {192, 64, 32}, {128, 96, 64}, {192, 0, 192}, {0, 192, 32}, {64, 224, 64}, {64, 0, 64},
    {128, 192, 160}, {64, 96, 64}, {64, 128, 192}, {0, 192, 160}, {192, 224, 64}, {64, 128, 64}, {128, 192, 32},
    {192, 32, 192}, {64, 64, 192}, {0, 64, 32}, {64, 160, 192}, {192, 64, 64}, {128, 64, 160}, {64, 32, 192},
    {192, 192, 192}, {0, 64, 160}, {192, 160, 192}, {192, 192, 0}, {128, 64, 96}, {192, 32, 64}, {192, 64, 128},
    {64, 192, 96}, {64, 160, 64}, {64, 64, 0},
  };
  Palette p(171);
  for (size_t i = 0; i < 171; ++i) p[i] = {colours[i][0], colours[i][1], colours[i][2]};
  return p;
}

std::shared_ptr<FileListDataset> open_coco_stuff(const CocoStuffOptions& o) {
  fs::path root = o.root;
  MDP_CHECK(fs::is_directory(root), "coco-stuff: root directory {} not found", root.string());
  std::string split = o.split == "train" ? "train2017" : o.split == "val" ? "val2017" : o.split;
  fs::path image_dir = root / "images" / split, label_dir = root / "annotations" / split;
  std::vector<FileEntry> entries;
  for (const std::string& path : list_files(image_dir.string(), ".jpg", "coco-stuff")) {
    std::string stem = fs::path(path).stem().string();
    entries.push_back({path, (label_dir / (stem + "_labelTrainIds.png")).string()});
  }
  return std::make_shared<FileListDataset>("coco-stuff", coco_stuff_class_names(), coco_stuff_palette(),
                                           std::move(entries), LabelMap::identity(171), true);
}

}  // namespace mdp::data
