// evaluation.h: segmentation inference and whole-split evaluation, as MMSegmentation's test mode does it.
// infer() runs a model on one normalised image, over the whole image or in overlapping sliding windows
// whose logits are averaged, and resizes the logits to the label's size; evaluate() runs it over a
// dataset and accumulates SegMetrics (metrics.h), comparing at the labels' original size. Deliberately
// not here: test-time augmentation (flips, multi-scale), saving predictions (mdp predict does that).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../data/dataset.h"
#include "../data/transforms.h"
#include "../nn/deeplabv3.h"
#include "metrics.h"

namespace mdp {

struct InferenceOptions {
  std::string mode = "whole";  // whole | slide
  std::vector<int64_t> crop{512, 512}, stride{341, 341};  // (h, w), slide only
};

// image (1, 3, h, w) normalised, on the model's device -> logits (1, K, out_h, out_w) (bilinear resize).
// Runs without gradient; the caller puts the model in eval mode.
Tensor infer(nn::DeepLabV3& model, const Tensor& image, int64_t out_h, int64_t out_w, const InferenceOptions& o);

struct EvaluateOptions {
  InferenceOptions inference;
  Device device = Device::cpu();  // the model's
  int64_t max_images = 0;         // the first max_images of the split; 0 = all
  int workers = 2;                // loader threads
};

// The model is put in eval mode for the pass and restored; images go through `pipeline` (the test
// pipeline: resize, normalise) one at a time, in order.
SegMetrics evaluate(nn::DeepLabV3& model, std::shared_ptr<const data::Dataset> ds, const data::PipelineOptions& pipeline,
                    const EvaluateOptions& o);

}  // namespace mdp
