// multi_head.cpp: the other datasets' logits are pushed to -1e4 before an ordinary cross-entropy, so
// their softmax probability underflows to exactly 0 (float32 and float64) and they get no gradient.
#include "mdp/multi_head.h"

#include "tensor/error.h"

namespace mdp {

Tensor multi_head_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& dataset_ids,
                                const std::vector<int64_t>& class_dataset, int64_t ignore_index) {
  MDP_CHECK(logits.dim() == 4, "multi_head_cross_entropy: logits must be (N, C, H, W), got {} dims", logits.dim());
  const int64_t N = logits.size(0), C = logits.size(1);
  MDP_CHECK(int64_t(class_dataset.size()) == C, "multi_head_cross_entropy: {} class datasets for {} classes",
            class_dataset.size(), C);
  MDP_CHECK(dataset_ids.numel() == N, "multi_head_cross_entropy: {} dataset ids for a batch of {}", dataset_ids.numel(), N);
  std::vector<double> ids = ops::to_vector(dataset_ids);
  std::vector<double> mask(size_t(N * C));  // (N, C, 1, 1): 0 on the sample's own classes, -1e4 elsewhere
  for (int64_t n = 0; n < N; ++n) {
    bool any = false;
    for (int64_t c = 0; c < C; ++c) {
      bool own = class_dataset[size_t(c)] == int64_t(ids[size_t(n)]);
      mask[size_t(n * C + c)] = own ? 0.0 : -1e4;
      any |= own;
    }
    MDP_CHECK(any, "multi_head_cross_entropy: sample {} is of dataset {}, which has no classes", n, int64_t(ids[size_t(n)]));
  }
  Tensor m = ops::from_vector(mask, {N, C, 1, 1}, logits.dtype(), logits.device());
  return cross_entropy(add(logits, m), labels, Tensor(), ignore_index);
}

}  // namespace mdp
