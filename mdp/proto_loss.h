// proto_loss.h: MDP's pixel-to-prototype contrastive loss with pixel-to-class sparse coding, as a
// differentiable op with an analytic backward (gradient into the embeddings only; prototypes are
// constants). Method: ../shared/docs/mdp-method.md §2.4-2.6 and §4.
//
//   s_ic   = z_i . p_c / tau                       over the filled prototypes c of all datasets
//   L_proto = mean_i -log softmax(s_i)[y_i]         pixels with y_i = ignore or an unfilled class skipped
//   sparse coding, setting 2 (pull, default):  T_i = top-k_{c != y_i, filled} z_i . p_c (detached choice),
//       L_sc = mean_i -(1/|T_i|) sum_{c in T_i} log softmax(s_i)[c],   L = L_proto + lambda L_sc
//   sparse coding, setting 1 (exclude): the classes of T_i leave the softmax denominator of L_proto.
//   soft target (pixel-mixing reading R2): -[w_i log q_{y_i} + (1 - w_i) log q_{y2_i}] instead of -log q_{y_i}
//       (not with setting 1, which could drop y2_i from the softmax: refused).
//   pixel weights a_i (optional, not the paper's): every "mean_i" above becomes sum_i a_i (.) / sum_i a_i.
// dL/ds_i = (sum of target weights) q_i - t_i, dL/dz_i = (dL/ds_i) P / tau, each divided by the pixel count
// (with pixel weights: times a_i, divided by their sum).
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

// Optional per-pixel inputs, each (P) or undefined (not used).
struct ProtoLossPixels {
  Tensor labels2{}, mix_weight{};  // soft targets: int64 second labels and floating weights of the first, together
  Tensor weight{};                 // floating, >= 0: each pixel's weight a_i in the means (undefined: all 1)
};

struct ProtoLossResult {
  Tensor loss;           // 0-d, differentiable w.r.t. z: L_proto + lambda L_sc (or the setting-1 loss)
  double proto = 0;      // the L_proto value (setting 1: the loss with reduced denominator)
  double sparse = 0;     // the L_sc value (0 unless Pull)
  int64_t pixels = 0;    // pixels that took part
  double weight = 0;     // the sum of their weights (= pixels without pixel weights): the means' denominator
};

// z: (P, D) L2-normalised embeddings (requires grad); labels: (P) int64 global class ids or ignore;
// prototypes: (C, D) normalised, no gradient; filled: (C) bool, which prototypes exist yet;
// class_dataset: (C) dataset id of each class (needed only with other_datasets_only).
// pixels: optional soft targets (the second label ignored where it is the ignore index or unfilled) and
// pixel weights. No valid pixel, or a zero total weight, gives a zero loss (still part of the graph,
// with a zero gradient).
ProtoLossResult proto_loss(const Tensor& z, const Tensor& labels, const Tensor& prototypes, const Tensor& filled,
                           const ProtoLossOptions& options, const std::vector<int64_t>& class_dataset = {},
                           const ProtoLossPixels& pixels = {});

// Pixel weights that make every (image, class) region weigh the same (PretrainStepOptions::region_balanced):
// labels (N, h, w) int64 -> (N h w) float32 on device, 1 / (pixels of that class in that image), 0 where
// the label is outside [0, C) (ignore).
Tensor region_weights(const Tensor& labels, int64_t C, Device device = Device::cpu());

}  // namespace mdp
