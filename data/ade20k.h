// ade20k.h: the ADE20K scene-parsing reader (ADEChallengeData2016), as MMSegmentation's ADE20KDataset
// reads it: images/<split>/*.jpg paired with annotations/<split>/*.png, reduce_zero_label (stored 0 =
// "other" -> 255 ignore, v -> v - 1), 150 classes. Not the full ADE20K (instance/part) release.
// Class names and palette are MMSegmentation's tables (its names are not always the first synonym of
// objectInfo150.csv, whose separator also joins the words inside a name); when objectInfo150.csv is
// present it is checked to list the 150 classes in the same order (index and first word of each row).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct Ade20kOptions {
  std::string root;                // ADEChallengeData2016
  std::string split = "training";  // training | validation ("train" and "val" are accepted too)
};

const std::vector<std::string>& ade20k_class_names();  // 150: wall, building, sky, ..., flag
Palette ade20k_palette();                              // 150 colours, MMSegmentation's

// Lists images/<split>/*.jpg. Errors name a missing directory or an objectInfo150.csv that disagrees.
std::shared_ptr<FileListDataset> open_ade20k(const Ade20kOptions& options);

}  // namespace mdp::data
