// dataset_wrappers.cpp: see dataset_wrappers.h.
#include "dataset_wrappers.h"

#include "../tensor/error.h"

namespace mdp::data {

RepeatDataset::RepeatDataset(std::shared_ptr<const Dataset> d, int64_t times) : d_(std::move(d)), times_(times) {
  MDP_CHECK(times_ >= 1, "RepeatDataset: times must be at least 1, got {}", times_);
  MDP_CHECK(d_->size() > 0, "RepeatDataset: dataset {} is empty", d_->name());
}

Sample WithoutLabels::get(int64_t i) const {
  Sample s = d_->get(i);
  s.label.clear();
  s.label_path.clear();
  return s;
}

}  // namespace mdp::data
