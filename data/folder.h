// folder.h: the generic layout (MMSegmentation's BaseSegDataset): an image directory and an annotation
// directory paired by file name (<id><image_suffix> with <id><label_suffix>), an optional split file of
// ids, and a class list. Also its description on disk, layout.txt, which the generated datasets write
// (generated.h) so `mdp data check --dataset folder --root DIR` needs no other option. Not recursive:
// files directly in the two directories only.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct FolderOptions {
  std::string name = "folder";         // the dataset's name (label-space prefix, messages)
  std::string root;                    // relative paths below are relative to it
  std::string image_dir = "images";
  std::string label_dir = "labels";
  std::string image_suffix = ".jpg";   // "_img.jpg" works too: the id is the name minus the suffix
  std::string label_suffix = ".png";
  // Lines are ids. Empty: every file of image_dir ending with image_suffix, sorted. A "{split}" in it
  // is replaced by the split given to read_folder_layout.
  std::string split_file;
  // Class names: class_names, else classes_file (one per line), else num_classes names "class_<i>".
  std::vector<std::string> class_names;
  std::string classes_file;
  int num_classes = 0;
  std::string palette_file;            // "r g b" per line, one per class; default voc_colormap
  bool reduce_zero_label = false;      // 0 -> ignore, v -> v - 1 (as ADE20K)
  bool labeled = true;                 // false: images only (Sample::label empty); label_dir is not read
};

// Options from <root>/layout.txt, lines "key = value" with the field names above (class_names as a
// comma-separated list; booleans true/false; '#' starts a comment), over the defaults; root is set to
// `root` and "{split}" in split_file replaced by `split`. Errors name the file, line and key.
FolderOptions read_folder_layout(const std::string& root, const std::string& split);
// A split_file pattern with its "{split}" (if any) replaced by split: "splits/{split}.txt" -> "splits/val.txt".
std::string split_file_of(std::string pattern, const std::string& split);
// Writes <options.root>/layout.txt (every field but root and class_names; class_names go to
// classes_file when that is set).
void write_folder_layout(const FolderOptions& options);

// Lists the files; requires 1..255 classes (254 with reduce_zero_label), except that an unlabeled
// dataset may have none (0 classes: no class_names, classes_file or num_classes). Errors name a missing
// directory, split file or classes file, or a palette file with fewer colours than classes.
std::shared_ptr<FileListDataset> open_folder(const FolderOptions& options);

}  // namespace mdp::data
