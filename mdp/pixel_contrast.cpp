// pixel_contrast.cpp: anchor sampling on the host, then the loss from differentiable ops on the device.
#include "mdp/pixel_contrast.h"

#include <algorithm>
#include <map>

#include "tensor/error.h"

namespace mdp {
namespace {
void check_options(const PixelContrastOptions& o) {
  MDP_CHECK(o.tau > 0 && o.base_tau > 0, "pixel_contrast: tau {} and base_tau {} must be positive", o.tau, o.base_tau);
  MDP_CHECK(o.max_views >= 1 && o.min_views >= 1 && o.max_samples >= 0,
            "pixel_contrast: max_views {} and min_views {} must be >= 1, max_samples {} >= 0", o.max_views, o.min_views,
            o.max_samples);
}

// A 0-d zero that is part of x's graph with a zero gradient (backward on it works and changes nothing).
Tensor zero_loss(const Tensor& x) {
  Tensor loss = ops::zeros({}, x.dtype(), x.device());
  record("pixel_contrast", {x}, {loss}, [s = x.shape(), d = x.dtype(), dev = x.device()](const TensorList&) -> TensorList {
    return {ops::zeros(s, d, dev)};
  });
  return loss;
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return ops::where(a, b, ops::full({}, 0, DType::Bool, a.device()));
}
}  // namespace

AnchorSample sample_anchors(const Tensor& labels, const PixelContrastOptions& o, Generator& gen) {
  check_options(o);
  MDP_CHECK(labels.dim() == 3 && labels.dtype() == DType::Int64, "sample_anchors: labels {} {} must be int64 (N, h, w)",
            dtype_name(labels.dtype()), shape_str(labels.shape()));
  const int64_t N = labels.size(0), S = labels.size(1) * labels.size(2);
  const std::vector<double> lab = ops::to_vector(labels);
  const int64_t budget = N > 0 ? o.max_samples / N : 0;  // anchors per image, at most
  AnchorSample a;
  for (int64_t n = 0; n < N; ++n) {
    std::map<int64_t, std::vector<int64_t>> pixels_of;  // class -> its pixels, classes ascending
    for (int64_t p = 0; p < S; ++p) {
      int64_t c = int64_t(lab[size_t(n * S + p)]);
      if (c != o.ignore_index && c >= 0) pixels_of[c].push_back(p);
    }
    std::vector<int64_t> classes;
    for (const auto& [c, px] : pixels_of)
      if (int64_t(px.size()) >= o.min_views) classes.push_back(c);
    int64_t K = int64_t(classes.size());
    if (K == 0) continue;
    if (budget / K < o.min_views) {  // too many classes for the budget: keep budget / min_views of them
      int64_t keep = budget / o.min_views;
      partial_shuffle(classes, keep, gen);
      classes.resize(size_t(keep));
      std::sort(classes.begin(), classes.end());
      K = keep;
      if (K == 0) continue;
    }
    const int64_t n_view = std::min(o.max_views, budget / K);
    for (int64_t c : classes) {
      std::vector<int64_t>& px = pixels_of[c];
      const int64_t size = int64_t(px.size()), take = std::min(n_view, size);
      partial_shuffle(px, take, gen);  // take draws without replacement
      for (int64_t i = 0; i < take; ++i) {
        a.image.push_back(n);
        a.pixel.push_back(px[size_t(i)]);
        a.label.push_back(c);
      }
    }
  }
  return a;
}

PixelContrastResult pixel_contrast_on_anchors(const Tensor& z, const Tensor& labels, const PixelContrastOptions& o,
                                              const Tensor& image) {
  check_options(o);
  MDP_CHECK(z.dim() == 2 && (z.dtype() == DType::Float32 || z.dtype() == DType::Float64),
            "pixel_contrast: anchors {} {} must be float32/float64 (M, D)", dtype_name(z.dtype()), shape_str(z.shape()));
  const int64_t M = z.size(0);
  MDP_CHECK(labels.dtype() == DType::Int64 && labels.shape() == Shape{M},
            "pixel_contrast: labels {} {} must be int64 (M) for anchors {}", dtype_name(labels.dtype()),
            shape_str(labels.shape()), shape_str(z.shape()));
  MDP_CHECK(!image.defined() || (image.dtype() == DType::Int64 && image.shape() == Shape{M}),
            "pixel_contrast: image ids {} must be int64 (M) for anchors {}", shape_str(image.shape()), shape_str(z.shape()));
  PixelContrastResult r;
  r.sampled = M;
  if (M == 0) {
    r.loss = zero_loss(z);
    return r;
  }
  const Device dev = z.device();
  const DType dt = z.dtype();

  // Masks (M, M), constants: positives = same image, same class, not self; negatives = same image, other class.
  Tensor y = ops::to(labels, dev);
  Tensor same_class = ops::compare(ops::CompareOp::Eq, ops::unsqueeze(y, 1), ops::unsqueeze(y, 0));
  Tensor idx = ops::arange(0, double(M), 1, DType::Int64, dev);
  Tensor pos = logical_and(same_class, ops::compare(ops::CompareOp::Ne, ops::unsqueeze(idx, 1), ops::unsqueeze(idx, 0)));
  Tensor neg = ops::compare(ops::CompareOp::Eq, ops::to(same_class, DType::UInt8), 0.0);
  if (image.defined()) {
    Tensor im = ops::to(image, dev);
    Tensor same_image = ops::compare(ops::CompareOp::Eq, ops::unsqueeze(im, 1), ops::unsqueeze(im, 0));
    pos = logical_and(pos, same_image);
    neg = logical_and(neg, same_image);
  }
  Tensor posf = ops::to(pos, dt), negf = ops::to(neg, dt);
  Tensor npos = ops::sum(posf, {1}, true), nneg = ops::sum(negf, {1}, true);  // (M, 1)
  Tensor usable = logical_and(ops::compare(ops::CompareOp::Gt, npos, 0.0), ops::compare(ops::CompareOp::Gt, nneg, 0.0));
  const int64_t count = int64_t(ops::sum(ops::to(usable, DType::Int64)).item());
  r.anchors = count;
  if (count == 0) {
    r.loss = zero_loss(z);
    return r;
  }
  // W_ip = 1 / |P_i| for the positives of usable anchors, else 0: L_i = -sum_p W_ip log_prob_ip.
  Tensor weight = ops::div(ops::mul(posf, ops::to(usable, dt)), ops::binary(ops::BinaryOp::Max, npos, 1.0));
  Tensor take = logical_and(pos, usable);  // the entries whose log is taken (others get log(1), no 0 or inf)

  // Differentiable part. l = z z^T / tau - rowmax (detached).
  Tensor logits = mul(matmul(z, z, false, true), 1.0 / o.tau);                                  // (M, M)
  Tensor l = sub(logits, ops::reduce(ops::ReduceOp::Max, detach(logits), {1}, true));        // (M, M), <= 0
  Tensor e = exp(l);
  Tensor neg_sum = sum(mul(e, negf), {1}, true);                                              // (M, 1)
  Tensor den = where(take, add(e, neg_sum), ops::ones({}, dt, dev));                          // (M, M)
  Tensor log_prob = sub(l, log(den));
  Tensor total = sum(mul(log_prob, weight));                                                  // -sum_i L_i
  r.loss = mul(total, -(o.tau / o.base_tau) / double(count));
  return r;
}

PixelContrastResult pixel_contrast_loss(const Tensor& embeddings, const Tensor& labels, const PixelContrastOptions& o,
                                        Generator& gen) {
  MDP_CHECK(embeddings.dim() == 4, "pixel_contrast: embeddings {} must be (N, D, h, w)", shape_str(embeddings.shape()));
  MDP_CHECK(labels.dim() == 3 && labels.dtype() == DType::Int64 && labels.size(0) == embeddings.size(0),
            "pixel_contrast: labels {} {} must be int64 (N, H, W) for embeddings {}", dtype_name(labels.dtype()),
            shape_str(labels.shape()), shape_str(embeddings.shape()));
  const int64_t N = embeddings.size(0), D = embeddings.size(1), h = embeddings.size(2), w = embeddings.size(3);
  Tensor lab = labels;
  if (labels.size(1) != h || labels.size(2) != w) lab = ops::resize_nearest(labels, h, w);  // as F.interpolate nearest
  AnchorSample a = sample_anchors(lab, o, gen);
  const int64_t M = int64_t(a.pixel.size());
  if (M == 0) {
    PixelContrastResult r;
    r.loss = zero_loss(embeddings);
    return r;
  }
  // Gather the anchors' embeddings image by image: (D, h*w) -> (D, M_n), joined to (M, D).
  const Device dev = embeddings.device();
  std::vector<Tensor> parts;
  for (int64_t n = 0, begin = 0; n < N; ++n) {
    int64_t end = begin;
    while (end < M && a.image[size_t(end)] == n) ++end;
    if (end > begin) {
      std::vector<double> px(a.pixel.begin() + begin, a.pixel.begin() + end);
      Tensor index = ops::from_vector(px, {end - begin}, DType::Int64, dev);
      parts.push_back(index_select(reshape(select(embeddings, 0, n), {D, h * w}), 1, index));
    }
    begin = end;
  }
  Tensor z = contiguous(transpose(cat(parts, 1), 0, 1));  // (M, D)
  std::vector<double> y(a.label.begin(), a.label.end()), im(a.image.begin(), a.image.end());
  return pixel_contrast_on_anchors(z, ops::from_vector(y, {M}, DType::Int64, dev), o,
                                   ops::from_vector(im, {M}, DType::Int64, dev));
}

}  // namespace mdp
