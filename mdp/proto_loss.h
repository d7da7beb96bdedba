// proto_loss.h: MDP's pixel-to-prototype contrastive loss with pixel-to-class sparse coding, as a
// differentiable op with an analytic backward (gradient into the embeddings only; prototypes are
// constants). Method: ../shared/docs/mdp-method.md §2.4-2.6 and §4.
//
//   s_ic   = z_i . p_c / tau                       over the filled prototypes c of all datasets
//   L_proto = mean_i -log softmax(s_i)[y_i]         pixels with y_i = ignore or an unfilled class skipped
//   sparse coding, setting 2 (pull, default):  T_i = top-k_{c != y_i, filled} z_i . p_c (detached choice),
//       L_sc = mean_i -(1/|T_i|) sum_{c in T_i} log softmax(s_i)[c],   L = L_proto + lambda L_sc
//   sparse coding, setting 1 (exclude): the classes of T_i leave the softmax denominator of L_proto.
//   soft target (pixel-mixing reading R2): -[w_i log q_{y_i} + (1 - w_i) log q_{y2_i}] instead of -log q_{y_i}.
// dL/ds_i = (sum of target weights) q_i - t_i, dL/dz_i = (dL/ds_i) P / tau, each divided by the pixel count.
#pragma once
#include <vector>

#include "../autograd/functions.h"

namespace mdp {

enum class SparseCoding { None, Pull, Exclude };  // Pull = the paper's setting 2, Exclude = setting 1

struct ProtoLossOptions {
  double tau = 0.07;
  SparseCoding sparse_coding = SparseCoding::Pull;
  int64_t k = 5;
  double lambda_sc = 0.1;            // weight of L_sc (Pull only)
  bool other_datasets_only = false;  // T_i only among classes of datasets other than the pixel's class's
  int64_t ignore_index = 255;
};

struct ProtoLossResult {
  Tensor loss;           // 0-d, differentiable w.r.t. z: L_proto + lambda L_sc (or the setting-1 loss)
  double proto = 0;      // the L_proto value (setting 1: the loss with reduced denominator)
  double sparse = 0;     // the L_sc value (0 unless Pull)
  int64_t pixels = 0;    // pixels that took part
};

// z: (P, D) L2-normalised embeddings (requires grad); labels: (P) int64 global class ids or ignore;
// prototypes: (C, D) normalised, no gradient; filled: (C) bool, which prototypes exist yet;
// class_dataset: (C) dataset id of each class (needed only with other_datasets_only).
// labels2 / mix_weight: (P) int64 / (P) floating, optional soft targets (undefined: hard labels);
// ignored where labels2 is the ignore index or unfilled.
// No valid pixel gives a zero loss (still part of the graph, with a zero gradient).
ProtoLossResult proto_loss(const Tensor& z, const Tensor& labels, const Tensor& prototypes, const Tensor& filled,
                           const ProtoLossOptions& options, const std::vector<int64_t>& class_dataset = {},
                           const Tensor& labels2 = Tensor(), const Tensor& mix_weight = Tensor());

}  // namespace mdp
