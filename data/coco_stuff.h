// coco_stuff.h: the COCO-Stuff 164k reader, as MMSegmentation's COCOStuffDataset reads it:
// images/<split>/*.jpg with annotations/<split>/<stem>_labelTrainIds.png (171 train ids: 80 things and
// 91 stuff, 255 ignore; what MMSegmentation's coco_stuff164k.py convert script writes). Not the raw
// 0..181 stuffthingmaps (convert them first) and not COCO-Stuff 10k (.mat files).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct CocoStuffOptions {
  std::string root;                 // coco_stuff164k
  std::string split = "train2017";  // train2017 | val2017 ("train" and "val" are accepted too)
};

const std::vector<std::string>& coco_stuff_class_names();  // 171: person, bicycle, ..., wood
Palette coco_stuff_palette();                              // 171 colours, MMSegmentation's

std::shared_ptr<FileListDataset> open_coco_stuff(const CocoStuffOptions& options);

}  // namespace mdp::data
