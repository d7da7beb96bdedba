// evaluation.cpp: see evaluation.h.
#include "evaluation.h"

#include <algorithm>

#include "../autograd/node.h"
#include "../data/loader.h"
#include "../tensor/error.h"
#include "../tensor/ops.h"

namespace mdp {

Tensor infer(nn::DeepLabV3& model, const Tensor& image, int64_t out_h, int64_t out_w, const InferenceOptions& o) {
  NoGradGuard ng;
  Tensor logits;
  if (o.mode == "whole") {
    logits = model(image);
  } else {
    MDP_CHECK(o.mode == "slide", "inference: mode '{}' is not whole or slide", o.mode);
    MDP_CHECK(o.crop.size() == 2 && o.stride.size() == 2 && o.stride[0] > 0 && o.stride[1] > 0,
              "inference: slide needs crop and stride of two positive values");
    int64_t H = image.size(2), W = image.size(3), ch = o.crop[0], cw = o.crop[1], sh = o.stride[0], sw = o.stride[1];
    int64_t gh = std::max<int64_t>(H - ch + sh - 1, 0) / sh + 1, gw = std::max<int64_t>(W - cw + sw - 1, 0) / sw + 1;
    Tensor sum, count = ops::zeros({1, 1, H, W}, DType::Float32, image.device());
    for (int64_t i = 0; i < gh; ++i)
      for (int64_t j = 0; j < gw; ++j) {
        int64_t y2 = std::min(i * sh + ch, H), x2 = std::min(j * sw + cw, W);
        int64_t y1 = std::max<int64_t>(y2 - ch, 0), x1 = std::max<int64_t>(x2 - cw, 0);
        Tensor crop = ops::contiguous(ops::narrow(ops::narrow(image, 2, y1, y2 - y1), 3, x1, x2 - x1));
        Tensor out = model(crop);
        if (!sum.defined()) sum = ops::zeros({1, out.size(1), H, W}, DType::Float32, image.device());
        Tensor dst = ops::narrow(ops::narrow(sum, 2, y1, y2 - y1), 3, x1, x2 - x1);
        ops::copy_(dst, ops::add(dst, out));
        Tensor cnt = ops::narrow(ops::narrow(count, 2, y1, y2 - y1), 3, x1, x2 - x1);
        ops::copy_(cnt, ops::add(cnt, 1.0));
      }
    logits = ops::div(sum, count);
  }
  if (logits.size(2) == out_h && logits.size(3) == out_w) return logits;
  return ops::resize_bilinear(logits, out_h, out_w, false);
}

SegMetrics evaluate(nn::DeepLabV3& model, std::shared_ptr<const data::Dataset> ds, const data::PipelineOptions& pipeline,
                    const EvaluateOptions& o) {
  bool was_training = model.is_training();
  model.eval();
  SegMetrics m(ds->num_classes(), ds->ignore_index());
  data::LoaderOptions lo;
  lo.batch_size = 1;
  lo.num_workers = o.workers;
  lo.shuffle = false;
  lo.drop_last = false;
  data::Loader loader(ds, pipeline, lo);
  data::Batch b;
  int64_t n = 0, total = o.max_images > 0 ? std::min(o.max_images, ds->size()) : ds->size();
  while (n < total && loader.next(b)) {
    Tensor logits = infer(model, ops::to(b.images, o.device), b.labels.size(1), b.labels.size(2), o.inference);
    m.add(ops::argmax(logits, 1), b.labels);
    ++n;
  }
  model.train(was_training);
  return m;
}

}  // namespace mdp
