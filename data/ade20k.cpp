// ade20k.cpp: the ADEChallengeData2016 layout, its 150 class names and palette (MMSegmentation's tables).
#include "data/ade20k.h"

#include <filesystem>

#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

const std::vector<std::string>& ade20k_class_names() {
  static const std::vector<std::string> names = {
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed",
    "windowpane", "grass", "cabinet", "sidewalk", "person", "earth", "door", "table",
    "mountain", "plant", "curtain", "chair", "car", "water", "painting", "sofa",
    "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat",
    "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
    "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink",
    "skyscraper", "fireplace", "refrigerator", "grandstand", "path", "stairs", "runway", "case",
    "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase", "blind",
    "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove",
    "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
    "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight",
    "booth", "television receiver", "airplane", "dirt track", "apparel", "pole", "land", "bannister",
    "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van", "ship",
    "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel",
    "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
    "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle",
    "lake", "dishwasher", "screen", "blanket", "sculpture", "hood", "sconce", "vase",
    "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
    "bulletin board", "shower", "radiator", "glass", "clock", "flag",
  };
  return names;
}

Palette ade20k_palette() {
  static const uint8_t colours[150][3] = {
    {120, 120, 120}, {180, 120, 120}, {6, 230, 230}, {80, 50, 50}, {4, 200, 3}, {120, 120, 80},
    {140, 140, 140}, {204, 5, 255}, {230, 230, 230}, {4, 250, 7}, {224, 5, 255}, {235, 255, 7},
    {150, 5, 61}, {120, 120, 70}, {8, 255, 51}, {255, 6, 82}, {143, 255, 140}, {204, 255, 4},
    {255, 51, 7}, {204, 70, 3}, {0, 102, 200}, {61, 230, 250}, {255, 6, 51}, {11, 102, 255},
    {255, 7, 71}, {255, 9, 224}, {9, 7, 230}, {220, 220, 220}, {255, 9, 92}, {112, 9, 255},
    {8, 255, 214}, {7, 255, 224}, {255, 184, 6}, {10, 255, 71}, {255, 41, 10}, {7, 255, 255},
    {224, 255, 8}, {102, 8, 255}, {255, 61, 6}, {255, 194, 7}, {255, 122, 8}, {0, 255, 20},
    {255, 8, 41}, {255, 5, 153}, {6, 51, 255}, {235, 12, 255}, {160, 150, 20}, {0, 163, 255},
    {140, 140, 140}, {250, 10, 15}, {20, 255, 0}, {31, 255, 0}, {255, 31, 0}, {255, 224, 0},
    {153, 255, 0}, {0, 0, 255}, {255, 71, 0}, {0, 235, 255}, {0, 173, 255}, {31, 0, 255},
    {11, 200, 200}, {255, 82, 0}, {0, 255, 245}, {0, 61, 255}, {0, 255, 112}, {0, 255, 133},
    {255, 0, 0}, {255, 163, 0}, {255, 102, 0}, {194, 255, 0}, {0, 143, 255}, {51, 255, 0},
    {0, 82, 255}, {0, 255, 41}, {0, 255, 173}, {10, 0, 255}, {173, 255, 0}, {0, 255, 153},
    {255, 92, 0}, {255, 0, 255}, {255, 0, 245}, {255, 0, 102}, {255, 173, 0}, {255, 0, 20},
    {255, 184, 184}, {0, 31, 255}, {0, 255, 61}, {0, 71, 255}, {255, 0, 204}, {0, 255, 194},
    {0, 255, 82}, {0, 10, 255}, {0, 112, 255}, {51, 0, 255}, {0, 194, 255}, {0, 122, 255},
    {0, 255, 163}, {255, 153, 0}, {0, 255, 10}, {255, 112, 0}, {143, 255, 0}, {82, 0, 255},
    {163, 255, 0}, {255, 235, 0}, {8, 184, 170}, {133, 0, 255}, {0, 255, 92}, {184, 0, 255},
    {255, 0, 31}, {0, 184, 255}, {0, 214, 255}, {255, 0, 112}, {92, 255, 0}, {0, 224, 255},
    {112, 224, 255}, {70, 184, 160}, {163, 0, 255}, {153, 0, 255}, {71, 255, 0}, {255, 0, 163},
    {255, 204, 0}, {255, 0, 143}, {0, 255, 235}, {133, 255, 0}, {255, 0, 235}, {245, 0, 255},
    {255, 0, 122}, {255, 245, 0}, {10, 190, 212}, {214, 255, 0}, {0, 204, 255}, {20, 0, 255},
    {255, 255, 0}, {0, 153, 255}, {0, 41, 255}, {0, 255, 204}, {41, 0, 255}, {41, 255, 0},
    {173, 0, 255}, {0, 245, 255}, {71, 0, 255}, {122, 0, 255}, {0, 255, 184}, {0, 92, 255},
    {184, 255, 0}, {0, 133, 255}, {255, 214, 0}, {25, 194, 194}, {102, 255, 0}, {92, 0, 255},
  };
  Palette p(150);
  for (size_t i = 0; i < 150; ++i) p[i] = {colours[i][0], colours[i][1], colours[i][2]};
  return p;
}

namespace {

// objectInfo150.csv: "Idx,Ratio,Train,Val,Stuff,Name" then 150 rows whose Name field joins the synonyms
// (and the words inside them) with ';'. Row i must be index i and start with the first word of class i-1.
void check_object_info(const fs::path& csv) {
  std::vector<std::string> lines = read_lines(csv.string(), "ade20k");
  MDP_CHECK(lines.size() == 151, "ade20k: {} has {} lines, expected a header and 150 classes", csv.string(),
            lines.size());
  const auto& names = ade20k_class_names();
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    size_t comma = line.find(',');
    size_t last = line.rfind(',');
    MDP_CHECK(comma != std::string::npos && last != std::string::npos, "ade20k: {} line {}: '{}' is not a CSV row",
              csv.string(), i + 1, line);
    std::string idx = line.substr(0, comma), name = line.substr(last + 1);
    std::string first_word = names[i - 1].substr(0, names[i - 1].find(' '));
    std::string first_token = name.substr(0, name.find(';'));
    MDP_CHECK(idx == std::to_string(i) && first_token == first_word,
              "ade20k: {} line {}: '{}' does not match class {} '{}'", csv.string(), i + 1, line, i - 1,
              names[i - 1]);
  }
}

}  // namespace

std::shared_ptr<FileListDataset> open_ade20k(const Ade20kOptions& o) {
  fs::path root = o.root;
  MDP_CHECK(fs::is_directory(root), "ade20k: root directory {} not found", root.string());
  std::string split = o.split == "train" ? "training" : o.split == "val" ? "validation" : o.split;
  fs::path csv = root / "objectInfo150.csv";
  if (fs::exists(csv)) check_object_info(csv);
  fs::path image_dir = root / "images" / split, label_dir = root / "annotations" / split;
  std::vector<FileEntry> entries;
  for (const std::string& path : list_files(image_dir.string(), ".jpg", "ade20k")) {
    std::string stem = fs::path(path).stem().string();
    entries.push_back({path, (label_dir / (stem + ".png")).string()});
  }
  return std::make_shared<FileListDataset>("ade20k", ade20k_class_names(), ade20k_palette(), std::move(entries),
                                           LabelMap::reduce_zero(150), true);
}

}  // namespace mdp::data
