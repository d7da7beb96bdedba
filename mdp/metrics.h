// metrics.h: semantic-segmentation metrics exactly as MMSegmentation computes them: per class,
// intersection, union, prediction and label pixel counts accumulated over the whole split (pixels whose
// label is ignore are left out); IoU = intersection / union and Acc = intersection / label, NaN for a
// class that never occurs (union 0 / label 0), mIoU and mAcc the mean over the non-NaN classes,
// aAcc = all intersections / all labelled pixels.
#pragma once
#include <string>
#include <vector>

#include "../tensor/tensor.h"

namespace mdp {

struct SegScores {
  std::vector<double> iou, acc;  // per class (NaN where undefined)
  double miou = 0, macc = 0, aacc = 0;
};

class SegMetrics {
 public:
  SegMetrics(int64_t num_classes, int64_t ignore_index = 255);
  // pred, label: int64 with the same shape, any device; label values in [0, K) or ignore.
  void add(const Tensor& pred, const Tensor& label);
  SegScores scores() const;
  // A table with one row per class (name, IoU, Acc in %) and the summary line.
  std::string table(const std::vector<std::string>& class_names) const;
  std::string json(const std::vector<std::string>& class_names) const;  // one JSON object
  int64_t num_classes() const { return K_; }

 private:
  int64_t K_, ignore_;
  std::vector<double> inter_, pred_, label_;  // per class pixel counts
};

}  // namespace mdp
