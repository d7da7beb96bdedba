// check.cpp: argument parsing, dataset opening by name, and the check itself (read every sample once,
// count pixels per class, collect errors).
#include "data/check.h"

#include <filesystem>
#include <ostream>

#include "data/ade20k.h"
#include "data/cityscapes.h"
#include "data/coco_stuff.h"
#include "data/voc.h"
#include "tensor/error.h"

namespace fs = std::filesystem;

namespace mdp::data {

std::string data_check_usage() {
  return "usage: mdp data check --dataset {voc,ade20k,cityscapes,coco-stuff,folder} --root DIR [--split NAME]\n"
         "  folder:     [--image-dir D] [--label-dir D] [--image-suffix S] [--label-suffix S] [--split-file F]\n"
         "              [--classes FILE] [--num-classes N] [--reduce-zero-label]   (defaults from DIR/layout.txt)\n"
         "  cityscapes: [--labels auto|trainids|labelids]\n"
         "Reads every image/label pair, prints the per-class pixel histogram and lists bad files.\n"
         "Exit status: 0 all pairs good, 1 bad pairs found, 2 the dataset cannot be opened.\n";
}

DataCheckOptions parse_data_check_args(const std::vector<std::string>& args) {
  DataCheckOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      MDP_CHECK(i + 1 < args.size(), "data check: {} needs a value", a);
      return args[++i];
    };
    if (a == "--dataset") o.dataset = value();
    else if (a == "--root") o.root = value();
    else if (a == "--split") o.split = value();
    else if (a == "--image-dir") o.folder.image_dir = value(), o.set_image_dir = true;
    else if (a == "--label-dir") o.folder.label_dir = value(), o.set_label_dir = true;
    else if (a == "--image-suffix") o.folder.image_suffix = value(), o.set_image_suffix = true;
    else if (a == "--label-suffix") o.folder.label_suffix = value(), o.set_label_suffix = true;
    else if (a == "--split-file") o.folder.split_file = value(), o.set_split_file = true;
    else if (a == "--classes") o.folder.classes_file = value(), o.set_classes_file = true;
    else if (a == "--reduce-zero-label") o.folder.reduce_zero_label = true, o.set_reduce_zero_label = true;
    else if (a == "--labels") o.cityscapes_labels = value();
    else if (a == "--num-classes") {
      std::string v = value();
      try {
        o.folder.num_classes = std::stoi(v);
      } catch (const std::exception&) {
        throw Error(fmt::format("data check: --num-classes '{}' is not a number", v));
      }
      o.set_num_classes = true;
    } else {
      throw Error(fmt::format("data check: unknown argument '{}'", a));
    }
  }
  MDP_CHECK(!o.dataset.empty(), "data check: --dataset is required");
  MDP_CHECK(!o.root.empty(), "data check: --root is required");
  return o;
}

std::shared_ptr<Dataset> open_dataset(const DataCheckOptions& o) {
  const std::string& split = o.split;
  if (o.dataset == "voc") return open_voc({o.root, split.empty() ? "train" : split});
  if (o.dataset == "ade20k") return open_ade20k({o.root, split.empty() ? "training" : split});
  if (o.dataset == "coco-stuff" || o.dataset == "coco_stuff") return open_coco_stuff({o.root, split.empty() ? "train2017" : split});
  if (o.dataset == "cityscapes") {
    CityscapesOptions c{o.root, split.empty() ? "train" : split};
    if (o.cityscapes_labels == "trainids") c.labels = CityscapesOptions::Labels::TrainIds;
    else if (o.cityscapes_labels == "labelids") c.labels = CityscapesOptions::Labels::LabelIds;
    else MDP_CHECK(o.cityscapes_labels == "auto", "data check: --labels '{}' (auto, trainids or labelids)", o.cityscapes_labels);
    return open_cityscapes(c);
  }
  if (o.dataset == "folder") {
    const std::string sp = split.empty() ? "train" : split;
    FolderOptions f;
    if (fs::exists(fs::path(o.root) / "layout.txt")) {
      f = read_folder_layout(o.root, sp);
    } else {
      f.root = o.root;
      f.split_file.clear();
    }
    if (o.set_image_dir) f.image_dir = o.folder.image_dir;
    if (o.set_label_dir) f.label_dir = o.folder.label_dir;
    if (o.set_image_suffix) f.image_suffix = o.folder.image_suffix;
    if (o.set_label_suffix) f.label_suffix = o.folder.label_suffix;
    if (o.set_split_file) f.split_file = split_file_of(o.folder.split_file, sp);  // "{split}" as in layout.txt
    if (o.set_classes_file) f.classes_file = o.folder.classes_file, f.class_names.clear();
    if (o.set_num_classes) f.num_classes = o.folder.num_classes;
    if (o.set_reduce_zero_label) f.reduce_zero_label = o.folder.reduce_zero_label;
    return open_folder(f);
  }
  throw Error(fmt::format("data check: unknown dataset '{}' (voc, ade20k, cityscapes, coco-stuff, folder)", o.dataset));
}

int data_check(const DataCheckOptions& o, std::ostream& out) {
  std::shared_ptr<Dataset> ds;
  try {
    ds = open_dataset(o);
  } catch (const Error& e) {
    out << "data check: cannot open the dataset: " << e.what() << "\n";
    return 2;
  }
  const int64_t n = ds->size();
  const int k = ds->num_classes();
  out << fmt::format("dataset {} at {}{}: {} images, {} classes\n", ds->name(), o.root,
                     o.split.empty() ? "" : ", split " + o.split, n, k);

  std::vector<int64_t> pixels(size_t(k), 0), images_with(size_t(k), 0);
  int64_t ignore_pixels = 0, total_pixels = 0, good = 0;
  std::vector<std::string> bad;
  for (int64_t i = 0; i < n; ++i) {
    try {
      Sample s = ds->get(i);
      std::vector<char> present(size_t(k), 0);
      for (int32_t v : s.label) {
        if (v == s.ignore_index) {
          ++ignore_pixels;
        } else {
          ++pixels[size_t(v)];
          present[size_t(v)] = 1;
        }
      }
      total_pixels += int64_t(s.label.size());
      for (int c = 0; c < k; ++c) images_with[size_t(c)] += present[size_t(c)];
      ++good;
    } catch (const Error& e) {
      bad.push_back(e.what());
    }
  }

  if (n == 0) out << "warning: the split lists no images\n";
  if (ds->has_labels() && total_pixels > 0) {
    out << fmt::format("{:>5}  {:<28} {:>14} {:>8} {:>7}\n", "id", "class", "pixels", "share", "images");
    for (int c = 0; c < k; ++c)
      out << fmt::format("{:>5}  {:<28} {:>14} {:>7.3f}% {:>7}\n", c, ds->class_names()[size_t(c)], pixels[size_t(c)],
                         100.0 * double(pixels[size_t(c)]) / double(total_pixels), images_with[size_t(c)]);
    out << fmt::format("{:>5}  {:<28} {:>14} {:>7.3f}%\n", ds->ignore_index(), "(ignore)", ignore_pixels,
                       100.0 * double(ignore_pixels) / double(total_pixels));
    int absent = 0;
    for (int64_t p : pixels) absent += p == 0;
    out << fmt::format("{} of {} classes present; {} labelled pixels\n", k - absent, k, total_pixels);
  }
  out << fmt::format("{} good, {} bad\n", good, bad.size());
  for (size_t b = 0; b < bad.size(); ++b) {
    if (int(b) == o.max_listed) {
      out << fmt::format("... and {} more bad files\n", bad.size() - b);
      break;
    }
    out << "BAD: " << bad[b] << "\n";
  }
  return bad.empty() ? 0 : 1;
}

}  // namespace mdp::data
