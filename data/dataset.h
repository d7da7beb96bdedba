// dataset.h: what a segmentation dataset is to the rest of the stack: a numbered list of samples (an RGB
// image and its per-pixel class ids), with the dataset's class names and palette. The readers of the
// public layouts (voc.h, ade20k.h, cityscapes.h, coco_stuff.h, folder.h) return FileListDatasets.
// Deliberately no augmentation (transforms.h), no batching or threads (loader.h), no label-space
// merging (label_space.h): a Dataset only reads, validates and returns one sample at a time.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "image.h"
#include "png.h"  // Palette

namespace mdp::data {

// The ignore value of a single dataset's labels (MMSegmentation's ignore_index). A merged label space
// may use another one (label_space.h); every Sample carries the one its labels use.
inline constexpr int32_t kIgnore = 255;

struct Sample {
  Image image;                  // (H, W, 3) RGB, 8-bit, row-major HWC
  std::vector<int32_t> label;   // (H * W) row-major class ids or ignore_index; empty when unlabeled
  int width = 0, height = 0;    // of both image and label
  int dataset_id = 0;           // which dataset of a label space it came from (0 for a single dataset)
  int32_t ignore_index = kIgnore;
  std::string image_path, label_path;  // label_path empty when unlabeled

  bool labeled() const { return !label.empty(); }
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  // Reads sample i (0 <= i < size()). Thread-safe: the loader calls it from several threads at once.
  // Throws mdp::Error naming the file and the problem for a missing, truncated or corrupt file, a label
  // map whose size differs from the image, or a label value that is neither a class id nor ignore.
  virtual Sample get(int64_t i) const = 0;
  // "image <path>, label <path>" for sample i, for messages (does not read the files).
  virtual std::string describe(int64_t i) const = 0;

  virtual std::string name() const = 0;                          // "voc", "ade20k", ...
  virtual const std::vector<std::string>& class_names() const = 0;  // num_classes() entries
  virtual const Palette& palette() const = 0;                   // one colour per class
  int num_classes() const { return int(class_names().size()); }
  virtual bool has_labels() const { return true; }
  virtual int32_t ignore_index() const { return kIgnore; }      // the ignore value in get()'s labels
};

// How the 8-bit values stored in a dataset's label PNGs become class ids: a table over 0..255 whose
// entries are a class id, kIgnore, or kInvalid (the value must not occur: reading it is an error).
struct LabelMap {
  static constexpr int16_t kInvalid = -1;
  std::array<int16_t, 256> to{};
  std::string allowed;  // what a file may hold, for messages: "0..20 or 255"

  // Values 0..num_classes-1 are themselves, 255 is ignore, the rest invalid.
  static LabelMap identity(int num_classes);
  // MMSegmentation's reduce_zero_label: 0 -> ignore, v -> v - 1 for 1..num_classes, 255 -> ignore.
  static LabelMap reduce_zero(int num_classes);
};

// s without leading and trailing spaces, tabs and '\r' (for the readers' text files: layout.txt,
// label mapping files).
std::string trim(const std::string& s);

// One sample of a file-based dataset; label_path empty for an unlabeled one.
struct FileEntry {
  std::string image_path, label_path;
};

// The common core of the readers: a list of files, class names, palette and label map. get() decodes
// the image (any PNG/JPEG, converted to 8-bit RGB), the label map (palette or gray 8-bit PNG read as
// indices, mapped through the LabelMap) and checks their sizes agree. A labeled one needs >= 1 class
// name; an unlabeled one (images only, Sample::label empty) may have none, and its label map is unused.
class FileListDataset : public Dataset {
 public:
  FileListDataset(std::string name, std::vector<std::string> class_names, Palette palette,
                  std::vector<FileEntry> entries, LabelMap label_map, bool labeled);

  int64_t size() const override { return int64_t(entries_.size()); }
  Sample get(int64_t i) const override;
  std::string describe(int64_t i) const override;
  std::string name() const override { return name_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  const Palette& palette() const override { return palette_; }
  bool has_labels() const override { return labeled_; }

  const FileEntry& entry(int64_t i) const;
  const LabelMap& label_map() const { return label_map_; }

 private:
  std::string name_;
  std::vector<std::string> class_names_;
  Palette palette_;
  std::vector<FileEntry> entries_;
  LabelMap label_map_;
  bool labeled_;
};

// Reads any PNG/JPEG as 8-bit RGB: gray is replicated, alpha dropped, 16-bit cut to its high byte (what
// cv2.imread(IMREAD_COLOR) gives, in RGB order).
Image read_rgb_image(const std::string& path);

// Reads a label PNG (palette or gray, 8-bit) as indices and maps it through `map`. Requires the map to
// be width x height when width > 0. Errors name `path`: size mismatch (with `image_path`), a colour or
// 16-bit PNG, and the first value not allowed by the map (with its position and `dataset`).
std::vector<int32_t> read_label_map(const std::string& path, const LabelMap& map, const std::string& dataset,
                                    int width = 0, int height = 0, const std::string& image_path = "");

// The PASCAL VOC colour map (bit-interleaved index bits), n entries; MMSegmentation's VOC palette is its
// first 21. Also the default palette of datasets that do not define one.
Palette voc_colormap(int n = 256);

// Sorted regular files directly in `dir` whose names end with `suffix`. Errors name a missing directory.
std::vector<std::string> list_files(const std::string& dir, const std::string& suffix, const char* who);
// Non-empty lines of a text file, trailing spaces and '\r' removed. Errors name a missing file.
std::vector<std::string> read_lines(const std::string& path, const char* who);

}  // namespace mdp::data
