// label_space.h: several datasets concatenated into one dataset with one label space, as multi-dataset
// pretraining needs. Dataset d's classes get the offset sum(num_classes of datasets 0..d-1); its labels
// are shifted to these global ids when a sample is read, every sample carries its dataset id, class
// names are kept per global id prefixed with the dataset's name ("voc/person"), and each dataset has a
// sampling weight. Deliberately no class merging or taxonomy mapping: global classes stay disjoint.
//
// THE IGNORE VALUE. Labels of a single dataset use 255 for ignore. In a label space of at most 255
// classes, global ids are 0..254 and ignore stays 255. Beyond 255 classes (VOC 21 + ADE20K 150 +
// COCO-Stuff 171 = 342) global id 255 is a real class, so the ignore value of the whole label space is
// -1 instead. ignore_index() returns the one in use; every Sample from get() carries it in
// Sample::ignore_index, the transforms pad and crop with it, and the loader's int64 label tensors hold
// it. A label space never mixes the two: a member's own ignore value always becomes ignore_index().
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace mdp::data {

struct LabelSpaceMember {
  std::shared_ptr<const Dataset> dataset;
  double weight = 1.0;  // relative sampling weight of the dataset as a whole (> 0)
  std::string prefix = {};  // class-name prefix; empty: dataset->name()
};

class LabelSpace : public Dataset {
 public:
  // Requires at least one member, non-null labeled datasets, weights > 0 and distinct prefixes.
  explicit LabelSpace(std::vector<LabelSpaceMember> members);

  int64_t size() const override { return total_; }
  // Member d's sample with labels shifted to global ids (v -> v + offset(d), member ignore ->
  // ignore_index()) and dataset_id = d.
  Sample get(int64_t i) const override;
  std::string describe(int64_t i) const override;
  std::string name() const override;  // "voc+ade20k+coco-stuff"
  const std::vector<std::string>& class_names() const override { return names_; }  // "voc/person", ...
  // One colour per global class: each member's palette in turn (a PNG can hold only the first 256).
  const Palette& palette() const override { return palette_; }
  int32_t ignore_index() const override { return ignore_; }

  int num_datasets() const { return int(members_.size()); }
  const Dataset& dataset(int d) const;
  const std::string& prefix(int d) const;
  int offset(int d) const;                           // first global id of dataset d
  int global_id(int d, int local_class) const;       // offset(d) + local_class, checked
  std::pair<int, int> local_id(int global) const;    // (dataset, local class) of a global id
  std::pair<int, int64_t> locate(int64_t i) const;   // (dataset, index in it) of sample i
  double weight(int d) const;

  // Per-sample sampling weights for the loader (LoaderOptions::sample_weights): sample i of dataset d
  // gets weight(d) / size(d), so each dataset is drawn in proportion to its weight whatever its size.
  std::vector<double> sample_weights() const;

 private:
  std::vector<LabelSpaceMember> members_;
  std::vector<int64_t> starts_;  // first sample index of each member, plus the total at the end
  std::vector<int> offsets_;     // first class id of each member, plus the total at the end
  std::vector<std::string> names_;
  Palette palette_;
  int64_t total_ = 0;
  int32_t ignore_ = kIgnore;
};

// The ignore value of a label space of num_classes classes: 255 up to 255 classes, -1 beyond.
int32_t ignore_index_for(int num_classes);

}  // namespace mdp::data
