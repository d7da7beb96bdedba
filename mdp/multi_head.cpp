// multi_head.cpp: the other datasets' logits are pushed to -1e4 before an ordinary cross-entropy, so
// their softmax probability underflows to exactly 0 (float32 and float64) and they get no gradient.
#include "mdp/multi_head.h"

#include "tensor/error.h"

namespace mdp {

Tensor multi_head_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& dataset_ids,
                                const std::vector<std::vector<int64_t>>& dataset_classes, int64_t ignore_index) {
  MDP_CHECK(logits.dim() == 4, "multi_head_cross_entropy: logits must be (N, C, H, W), got {} dims", logits.dim());
  const int64_t N = logits.size(0), C = logits.size(1);
  MDP_CHECK(dataset_ids.numel() == N, "multi_head_cross_entropy: {} dataset ids for a batch of {}", dataset_ids.numel(), N);
  std::vector<double> ids = ops::to_vector(dataset_ids);
  std::vector<double> mask(size_t(N * C), -1e4);  // (N, C, 1, 1): 0 on the sample's own classes, -1e4 elsewhere
  for (int64_t n = 0; n < N; ++n) {
    const int64_t d = int64_t(ids[size_t(n)]);
    MDP_CHECK(d >= 0 && d < int64_t(dataset_classes.size()) && !dataset_classes[size_t(d)].empty(),
              "multi_head_cross_entropy: sample {} is of dataset {}, which has no classes", n, d);
    for (int64_t c : dataset_classes[size_t(d)]) {
      MDP_CHECK(c >= 0 && c < C, "multi_head_cross_entropy: dataset {} has class {}, but the logits have {} classes", d, c, C);
      mask[size_t(n * C + c)] = 0.0;
    }
  }
  Tensor m = ops::from_vector(mask, {N, C, 1, 1}, logits.dtype(), logits.device());
  return cross_entropy(add(logits, m), labels, Tensor(), ignore_index);
}

}  // namespace mdp
