// check.h: `mdp data check`, the dataset check to run before a long training run: opens a dataset of
// any supported layout, reads and validates every image/label pair (decoding, sizes, label values),
// prints the image count, the per-class pixel histogram with class names and the bad files. Only the
// function and its argument parsing; apps/mdp.cpp wires it into the command. It changes no file.
#pragma once
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"
#include "folder.h"

namespace mdp::data {

struct DataCheckOptions {
  std::string dataset;  // voc | ade20k | cityscapes | coco-stuff | folder
  std::string root;
  std::string split;    // empty: the layout's default (train, training, train2017; folder: train)
  // --dataset folder: read <root>/layout.txt when present, then these override it (set_* say which).
  FolderOptions folder;
  bool set_image_dir = false, set_label_dir = false, set_image_suffix = false, set_label_suffix = false,
       set_split_file = false, set_classes_file = false, set_num_classes = false, set_reduce_zero_label = false;
  std::string cityscapes_labels = "auto";  // auto | trainids | labelids
  int max_listed = 50;  // bad files listed in full (all are counted)
};

// Parses the arguments after `mdp data check`:
//   --dataset NAME --root DIR [--split NAME]
//   folder: [--image-dir D] [--label-dir D] [--image-suffix S] [--label-suffix S] [--split-file F]
//           [--classes FILE] [--num-classes N] [--reduce-zero-label]
//   cityscapes: [--labels auto|trainids|labelids]
// Throws mdp::Error naming an unknown or incomplete argument.
DataCheckOptions parse_data_check_args(const std::vector<std::string>& args);
std::string data_check_usage();

// Opens the dataset the options name (no file is read beyond the lists). Errors name what is missing.
std::shared_ptr<Dataset> open_dataset(const DataCheckOptions& options);

// Runs the check, writing the report to `out`. Returns 0 when every pair is good, 1 when any is bad (each
// named with its problem), 2 when the dataset cannot be opened or the options are wrong (the message
// says why).
int data_check(const DataCheckOptions& options, std::ostream& out);

}  // namespace mdp::data
