// mixing.h: cross-dataset mixing of a batch (§3 of mdp-method.md), applied to CPU batches before the
// forward pass. Labels stay in the global label space; every mixed pixel carries the label of the pixel
// it came from.
//  - region (CutMix with the paper's box): start point (rx, ry) ~ U(0, W) x U(0, H), size
//    W sqrt(1 - lambda) x H sqrt(1 - lambda), lambda ~ U(0, 1), clipped at the border; the partner's image
//    and labels are pasted inside the box.
//  - pixel (ClassMix): floor(n / 2) of the partner's n classes (ignore excluded) are chosen at random;
//    their pixels (image and labels) are pasted onto the sample.
//    Option blend (the "intermediate class" reading R2): inside the pasted mask the image is
//    lambda x_partner + (1 - lambda) x_sample and the target is soft: label2 = the sample's label with
//    weight 1 - lambda (mix_weight = lambda for the pasted label).
// The partner is taken from another dataset when the batch has one (else from the same dataset).
#pragma once
#include <string>
#include <vector>

#include "../tensor/random.h"
#include "../tensor/tensor.h"

namespace mdp {

struct MixOptions {
  double region_prob = 0.25;  // per sample: region mixing with this probability,
  double pixel_prob = 0.25;   // else pixel mixing with this one, else no mixing
  bool blend = false;         // pixel mixing as reading R2 (soft targets)
  int64_t ignore_index = 255;
};

struct Box { int64_t x0, y0, x1, y1; };  // [x0, x1) x [y0, y1)

// The paper's box for an H x W image and a given lambda and start point.
Box region_box(int64_t H, int64_t W, double lambda, double rx, double ry);

struct MixRecord {
  std::string kind;     // "none", "region" or "pixel"
  int64_t partner = -1;
  Box box{0, 0, 0, 0};
  std::vector<int64_t> classes;  // pixel mixing: the partner classes pasted
  double lambda = 1;
};

struct MixedBatch {
  Tensor images;      // (N, 3, H, W) float32
  Tensor labels;      // (N, H, W) int64: the pixel's (first) label
  Tensor labels2;     // (N, H, W) int64 and
  Tensor mix_weight;  // (N, H, W) float32: soft targets, defined only when blending was used
  std::vector<MixRecord> records;
};

// images (N, 3, H, W) float32 and labels (N, H, W) int64 on the CPU; dataset_ids (N) int64.
MixedBatch mix_batch(const Tensor& images, const Tensor& labels, const Tensor& dataset_ids, const MixOptions& o,
                     Generator& gen);

}  // namespace mdp
