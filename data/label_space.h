// label_space.h: several datasets concatenated into one dataset with one label space, as multi-dataset
// pretraining needs. Dataset d's classes get the offset sum(num_classes_of(0..d-1)); its labels
// are mapped to these global ids when a sample is read, every sample carries its dataset id, class
// names are kept per global id prefixed with the dataset's name ("voc/person"), and each dataset has a
// sampling weight. By default global classes stay disjoint (what MDP does); merging classes across
// datasets is opt-in, through a user-written mapping file (the paper's "label unification" baseline).
// Not a taxonomy: no hierarchy, no class split, no automatic matching of names.
//
// UNLABELED MEMBERS. A member whose dataset has no labels (Dataset::has_labels() false, e.g. a folder
// layout with `labeled = false`) contributes 0 classes, whatever class names it declares. Its samples
// come out of get() with a full-size label map (width * height) filled with ignore_index(), so that
// transforms, loader and mixing treat them like any sample; MDP pretraining replaces those labels with
// pseudo-labels. A label space needs at least one class, so at least one labeled member.
//
// MERGING. A merge group is a list of >= 2 classes, named as the label space names them ("voc/person"),
// of any datasets (also two classes of one dataset). Groups are disjoint. The group's members are taken
// in the order of their unmerged global ids (the order written in the file does not matter): the first
// is the group's owner. Global ids are then renumbered compactly in order of first appearance: the
// merged class takes the id position of its owner, the other members are removed, and the ids after each
// removed one shift down. The merged class's name joins the members' names with '|'
// ("shapes_a/circle|shapes_b/disk"), its colour is the owner's. Dataset d still owns a contiguous range
// of global ids, [offset(d), offset(d) + num_classes_of(d)): its classes not merged into an earlier
// class (possibly none).
//
// THE IGNORE VALUE. Labels of a single dataset use 255 for ignore. In a label space of at most 255
// classes (counted after merging), global ids are 0..254 and ignore stays 255. Beyond 255 classes
// (VOC 21 + ADE20K 150 + COCO-Stuff 171 = 342) global id 255 is a real class, so the ignore value of the
// whole label space is -1 instead. ignore_index() returns the one in use; every Sample from get()
// carries it in Sample::ignore_index, the transforms pad and crop with it, and the loader's int64 label
// tensors hold it. A label space never mixes the two: a member's own ignore value always becomes
// ignore_index().
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataset.h"

namespace mdp::data {

struct LabelSpaceMember {
  std::shared_ptr<const Dataset> dataset;
  double weight = 1.0;  // relative sampling weight of the dataset as a whole (> 0)
  std::string prefix = {};  // class-name prefix; empty: dataset->name()
};

// One merge group: the classes that become one global class.
struct LabelMergeGroup {
  std::vector<std::string> classes;  // "prefix/class" as LabelSpace names them; >= 2, distinct
  std::string where = {};            // "<file> line <n>" for messages (read_label_mapping); may be empty
};
using LabelMerges = std::vector<LabelMergeGroup>;

// Reads a label mapping file: one merge group per line, class names separated by '=',
//   # merged class = its members
//   shapes_a/circle = shapes_b/disk
//   voc/person = ade20k/person = coco-stuff/person
// '#' starts a comment; blank lines are skipped; spaces around names are dropped (spaces inside a name
// are kept, so a name cannot contain '=' or '#'). Errors name the file and line: a line without '=', a
// group of fewer than two classes ("voc/person ="). Whether the names exist, and whether a class is in
// two groups, is checked by the LabelSpace that uses the merges (its messages name the file and line).
LabelMerges read_label_mapping(const std::string& path);

class LabelSpace : public Dataset {
 public:
  // Requires at least one member, non-null datasets, at least one of them labeled, weights > 0 and
  // distinct prefixes. `merges` (default none: disjoint classes) must name existing classes of labeled
  // members, each class in one group at most, each group with >= 2 classes; errors name the group's
  // `where`, the class and a few valid names.
  explicit LabelSpace(std::vector<LabelSpaceMember> members, const LabelMerges& merges = {});

  int64_t size() const override { return total_; }
  // Member d's sample with labels mapped to global ids (local class c -> global_id(d, c), member ignore
  // -> ignore_index()) and dataset_id = d. An unlabeled member's sample gets width * height labels, all
  // ignore_index() (label_path stays empty).
  Sample get(int64_t i) const override;
  std::string describe(int64_t i) const override;
  std::string name() const override;  // "voc+ade20k+coco-stuff"
  // One name per global class (num_classes() after merging): "voc/person", or "a/x|b/y" when merged.
  const std::vector<std::string>& class_names() const override { return names_; }
  // One colour per global class: each member's palette in turn, a merged class the colour of its owner
  // (a PNG can hold only the first 256).
  const Palette& palette() const override { return palette_; }
  int32_t ignore_index() const override { return ignore_; }

  int num_datasets() const { return int(members_.size()); }
  const Dataset& dataset(int d) const;
  const std::string& prefix(int d) const;
  double weight(int d) const;
  bool labeled(int d) const;                         // dataset(d).has_labels()
  // Pixels of unlabeled members: ignore_index() by default; with mark_unlabeled_pixels(true) the value
  // kUnlabeledPixel instead, which no class and no ignore value uses, so that after the transforms
  // (which pad with ignore and skip negative values in cat_max_ratio) the image's own pixels can be told
  // from padding, e.g. to give exactly them pseudo-labels.
  static constexpr int32_t kUnlabeledPixel = -2;
  void mark_unlabeled_pixels(bool on) { unlabeled_fill_ = on ? kUnlabeledPixel : ignore_; }
  // Dataset d owns the global ids [offset(d), offset(d) + num_classes_of(d)) (see MERGING above);
  // without merges these are its own classes in order. num_classes_of(d) is 0 for an unlabeled member.
  int offset(int d) const;
  int num_classes_of(int d) const;
  int global_id(int d, int local_class) const;       // global id of member d's class (merged: the group's), checked
  std::pair<int, int> local_id(int global) const;    // (dataset, local class) of a global id: its owner
  int dataset_of_class(int global) const;            // local_id(global).first
  // Every (dataset, local class) mapped to a global id, owner first, the rest in unmerged order; one
  // entry unless the class is merged.
  const std::vector<std::pair<int, int>>& members_of(int global) const;
  std::pair<int, int64_t> locate(int64_t i) const;   // (dataset, index in it) of sample i

  // Per-sample sampling weights for the loader (LoaderOptions::sample_weights): sample i of dataset d
  // gets weight(d) / size(d), so each dataset is drawn in proportion to its weight whatever its size.
  std::vector<double> sample_weights() const;

 private:
  std::vector<LabelSpaceMember> members_;
  std::vector<int64_t> starts_;  // first sample index of each member, plus the total at the end
  std::vector<int> offsets_;     // first global id owned by each member, plus num_classes() at the end
  std::vector<std::vector<int32_t>> to_global_;  // per member: local class -> global id (empty: unlabeled)
  std::vector<std::vector<std::pair<int, int>>> class_members_;  // per global id: (dataset, local), owner first
  std::vector<std::string> names_;
  Palette palette_;
  int64_t total_ = 0;
  int32_t ignore_ = kIgnore;
  int32_t unlabeled_fill_ = kIgnore;  // the label of an unlabeled member's pixels
};

// The ignore value of a label space of num_classes classes: 255 up to 255 classes, -1 beyond.
int32_t ignore_index_for(int num_classes);

}  // namespace mdp::data
