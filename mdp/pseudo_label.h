// pseudo_label.h: pseudo-labels for unlabeled images from the class prototypes (mdp-method.md §1.4, the
// rebuttal's "data mining" extension): each pixel takes the class whose prototype is most similar to its
// momentum-encoder (key) embedding,
//
//   y(x) = argmax_{c filled} cos(k(x), p_c),   ignore_index where max_c cos < threshold or nothing is filled.
//
// Keys and prototypes are L2-normalised here (eps 1e-12) so the score is a cosine even if they are not
// already unit vectors; unfilled prototypes (PrototypeBank keeps zeros there) are never chosen. Ties go to
// the lowest class id. Runs without gradient (NoGradGuard), on the keys' device, in their dtype.
// Deliberately not here: any smoothing, per-class thresholds or confidence re-weighting of the loss.
#pragma once
#include "../tensor/tensor.h"

namespace mdp {

// keys: (N, D, h, w) from the key encoder; prototypes: (C, D) (PrototypeBank::prototypes(), float32);
// filled: (C) bool or 0/1 (PrototypeBank::filled()); threshold <= -1 disables the threshold.
// -> (N, h, w) int64 class ids in [0, C) or ignore_index.
Tensor pseudo_labels(const Tensor& keys, const Tensor& prototypes, const Tensor& filled, double threshold,
                     int64_t ignore_index = 255);

}  // namespace mdp
