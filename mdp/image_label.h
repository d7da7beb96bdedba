// image_label.h: image-level labels for the classification-pretraining baseline (the ImageNet analogue of
// paper-ablations): each crop's label is the class that covers most of its non-background pixels, read
// from the crop's label map. Nothing else of the map (no pixel positions) reaches the loss. Deliberately
// not a dataset format of its own: the generated image-level domain (world_i) has one object per scene,
// so "the class of its object" and "the majority object class of the crop" are the same thing.
#pragma once
#include <vector>

#include "../tensor/tensor.h"

namespace mdp {

// labels: (N, H, W) int64 class ids (ignore_index and ids outside [0, background.size()) are skipped);
// background[c]: class c is a background class (no object). -> (N) int64: per image the most frequent
// object class (the lowest id on a tie), or ignore_index where the crop shows no object.
Tensor image_labels(const Tensor& labels, const std::vector<bool>& background, int64_t ignore_index);

}  // namespace mdp
