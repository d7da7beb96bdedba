// cityscapes.h: the Cityscapes fine-annotation reader, as MMSegmentation's CityscapesDataset reads it:
// leftImg8bit/<split>/<city>/<frame>_leftImg8bit.png with gtFine/<split>/<city>/<frame>_gtFine_labelTrainIds.png
// (19 train ids, 255 ignore), or with the raw *_gtFine_labelIds.png (ids 0..33) mapped to the 19 train ids
// by the official table (cityscapesScripts labels.py). Not gtCoarse, instance ids or the 34-class setting.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct CityscapesOptions {
  std::string root;            // the directory holding leftImg8bit/ and gtFine/
  std::string split = "train";  // train | val | test
  // TrainIds: *_labelTrainIds.png (what MMSegmentation's convert script writes); LabelIds: *_labelIds.png
  // through the official table; Auto: TrainIds when the split's first frame has one, else LabelIds.
  enum class Labels { Auto, TrainIds, LabelIds } labels = Labels::Auto;
};

const std::vector<std::string>& cityscapes_class_names();  // 19: road, sidewalk, ..., bicycle
Palette cityscapes_palette();                              // 19 colours, MMSegmentation's
// The official labelId -> trainId table for ids 0..33 (255 where a class is not trained on).
const std::array<uint8_t, 34>& cityscapes_label_to_train_id();

// Lists every <city>/*_leftImg8bit.png of the split, sorted by path.
std::shared_ptr<FileListDataset> open_cityscapes(const CityscapesOptions& options);

}  // namespace mdp::data
