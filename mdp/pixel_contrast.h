// pixel_contrast.h: the pixel-to-pixel supervised contrast baseline (paper Eq. (2); mdp-method.md §2.2),
// computed inside each image as ContrastiveSeg's PixelContrastLoss computes it over its anchors:
//
//   l_ij = z_i . z_j / tau - max_j(z_i . z_j / tau)          (the row max detached; it cancels in L_i)
//   P_i  = anchors of i's class in i's image, except i;  N_i = anchors of other classes in i's image
//   L_i  = -(1/|P_i|) sum_{p in P_i} [ l_ip - log( exp(l_ip) + sum_{n in N_i} exp(l_in) ) ]
//   L    = (tau / base_tau) * mean of L_i over the anchors of all images with |P_i| > 0 and |N_i| > 0
//
// Anchor sampling (sample_anchors), per image, uniform at random: there is no classifier during
// pretraining, so ContrastiveSeg's hard/easy split (mis-predicted vs. right) does not exist here.
//   1. Labels are nearest-downsampled to the embedding size when they differ (ContrastiveSeg's
//      F.interpolate(mode='nearest')). Pixels labelled ignore_index or negative are never anchors.
//   2. The image's classes with at least min_views pixels are eligible (K of them).
//   3. The image's budget is B = max_samples / N (integer division). If B / K < min_views, only
//      K' = B / min_views eligible classes, drawn at random, are kept (K = K').
//   4. n_view = min(max_views, B / K); each kept class contributes min(n_view, its pixel count) pixels,
//      drawn without replacement. So an image never has more than B anchors; a budget left over by
//      small classes is not handed to the others (as in ContrastiveSeg, which gives every class n_view).
//   (ContrastiveSeg instead requires a class to have more than max_views pixels and shares max_samples
//    over the classes of the whole batch; the loss itself is the same.)
// Deliberately not here: ContrastiveSeg's cross-image contrast and its pixel/segment memory queues (§2.3).
// Built from differentiable ops (autograd gives the gradient); any device, float32 or float64.
#pragma once
#include <vector>

#include "../autograd/functions.h"
#include "../tensor/random.h"

namespace mdp {

struct PixelContrastOptions {
  double tau = 0.1, base_tau = 0.07;  // ContrastiveSeg's temperature (R101 config) and base temperature
  int64_t max_views = 100;            // anchors per class and image, at most
  int64_t min_views = 2;              // classes with fewer pixels in an image are not sampled there
  int64_t max_samples = 1024;         // anchors per batch, at most (max_samples / N per image)
  int64_t ignore_index = 255;
};

struct PixelContrastResult {
  Tensor loss;          // 0-d, differentiable w.r.t. the embeddings; exactly 0 when no anchor is usable
  int64_t anchors = 0;  // anchors that took part (at least one positive and one negative)
  int64_t sampled = 0;  // anchors sampled (pixel_contrast_loss) or given (pixel_contrast_on_anchors)
};

// The sampled anchors, in order of image, then ascending class, then draw.
struct AnchorSample {
  std::vector<int64_t> image;  // (M) image index n
  std::vector<int64_t> pixel;  // (M) flat index y * w + x in the (h, w) label map
  std::vector<int64_t> label;  // (M) class
};

// labels: (N, h, w) int64 at the embedding resolution. Draws from gen (host side).
AnchorSample sample_anchors(const Tensor& labels, const PixelContrastOptions& o, Generator& gen);

// The loss on given anchors. z: (M, D) unit rows (from the graph); labels: (M) int64 classes;
// image: (M) int64 image of each anchor, or undefined for anchors of one image (anchors of different
// images are neither positives nor negatives of each other). The anchors' labels are all classes here
// (no ignore). No anchor, or none usable, gives an exact 0 with a zero gradient.
PixelContrastResult pixel_contrast_on_anchors(const Tensor& z, const Tensor& labels, const PixelContrastOptions& o,
                                              const Tensor& image = Tensor());

// embeddings: (N, D, h, w) L2-normalised over D (from the graph); labels: (N, H, W) int64 with
// ignore_index, downsampled (nearest) to (h, w) when (H, W) != (h, w). Samples anchors with gen, then
// pixel_contrast_on_anchors.
PixelContrastResult pixel_contrast_loss(const Tensor& embeddings, const Tensor& labels, const PixelContrastOptions& o,
                                        Generator& gen);

}  // namespace mdp
