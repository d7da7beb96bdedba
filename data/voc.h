// voc.h: the PASCAL VOC 2012 segmentation reader, as MMSegmentation's PascalVOCDataset reads it:
// ids from ImageSets/Segmentation/<split>.txt, images JPEGImages/<id>.jpg, labels
// SegmentationClass/<id>.png (palette PNG, read as indices) or SegmentationClassAug/<id>.png (gray).
// 21 classes (0 = background), 255 = ignore (object borders). Not the detection or action layouts.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct VocOptions {
  // VOC2012 itself, or the VOCdevkit above it (then VOCdevkit/VOC2012 is used).
  std::string root;
  std::string split = "train";  // any ImageSets/Segmentation/<split>.txt: train, val, trainval, aug
  // Label directory: SegmentationClassAug when true; by default it is used for split "aug" only.
  enum class Labels { Auto, Class, ClassAug } labels = Labels::Auto;
};

const std::vector<std::string>& voc_class_names();  // 21: background, aeroplane, ..., tvmonitor
Palette voc_palette();                              // 21 colours: voc_colormap(21)

// Lists the split's files (they are read and validated by get()); errors name a missing root or split file.
std::shared_ptr<FileListDataset> open_voc(const VocOptions& options);

}  // namespace mdp::data
