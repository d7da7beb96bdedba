// dataset_wrappers.h: datasets made from another one, as MMSegmentation's dataset wrappers.
//   RepeatDataset  the samples of a dataset `times` times over (index i is sample i % n): short splits
//                  give longer epochs, so the loader restarts less often (MMSeg's RepeatDataset).
//   WithoutLabels  a dataset read without its labels (has_labels() false, empty label maps): in a
//                  LabelSpace it contributes no classes and MDP gives its pixels pseudo-labels.
// Deliberately not here: concatenation over label spaces (label_space.h does that, with its ids).
#pragma once
#include <memory>

#include "dataset.h"

namespace mdp::data {

class RepeatDataset : public Dataset {
 public:
  RepeatDataset(std::shared_ptr<const Dataset> d, int64_t times);  // times >= 1, checked
  int64_t size() const override { return d_->size() * times_; }
  Sample get(int64_t i) const override { return d_->get(i % d_->size()); }
  std::string describe(int64_t i) const override { return d_->describe(i % d_->size()); }
  std::string name() const override { return d_->name(); }
  const std::vector<std::string>& class_names() const override { return d_->class_names(); }
  const Palette& palette() const override { return d_->palette(); }
  bool has_labels() const override { return d_->has_labels(); }
  int32_t ignore_index() const override { return d_->ignore_index(); }

 private:
  std::shared_ptr<const Dataset> d_;
  int64_t times_;
};

class WithoutLabels : public Dataset {
 public:
  explicit WithoutLabels(std::shared_ptr<const Dataset> d) : d_(std::move(d)) {}
  int64_t size() const override { return d_->size(); }
  Sample get(int64_t i) const override;
  std::string describe(int64_t i) const override { return d_->describe(i) + " (labels not used)"; }
  std::string name() const override { return d_->name(); }
  const std::vector<std::string>& class_names() const override { return none_; }
  const Palette& palette() const override { return palette_; }
  bool has_labels() const override { return false; }

 private:
  std::shared_ptr<const Dataset> d_;
  std::vector<std::string> none_;
  Palette palette_;
};

}  // namespace mdp::data
