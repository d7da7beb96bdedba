// multi_head.h: the loss of the multi-head co-training baseline (mdp-method.md §7.5: a shared model with
// dataset-specific classification heads, each sample's loss on its own dataset's head). The heads are the
// per-dataset blocks of one classifier over the concatenated label space: logits (N, C, H, W), and
// sample n's softmax runs over the classes of its own dataset only (dataset_classes; with label
// unification a merged class belongs to every dataset it came from). That is exactly a separate 1x1-conv classifier per dataset on a shared backbone and
// head: the other datasets' logits get no gradient from sample n. Deliberately not a second network.
#pragma once
#include <vector>

#include "../autograd/functions.h"

namespace mdp {

// logits: (N, C, H, W) from the graph; labels: (N, H, W) int64 global class ids or ignore_index, each a
// class of its sample's dataset; dataset_ids: (N) int64; dataset_classes[d]: the global classes of
// dataset d. -> 0-d mean cross-entropy over the non-ignored pixels, each softmax over its own dataset's
// classes.
Tensor multi_head_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& dataset_ids,
                                const std::vector<std::vector<int64_t>>& dataset_classes, int64_t ignore_index);

}  // namespace mdp
