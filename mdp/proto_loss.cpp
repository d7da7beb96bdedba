// proto_loss.cpp: the loss forward with raw ops (so it runs on any device) and its analytic backward.
#include "mdp/proto_loss.h"

#include <algorithm>

#include "tensor/error.h"

namespace mdp {
namespace {
constexpr double kMasked = -1e30;  // a logit that takes no part: exp underflows to 0, never NaN

Tensor scalar(double v, const Tensor& like) { return ops::full({}, v, like.dtype(), like.device()); }
Tensor bool_scalar(bool v, Device d) { return ops::full({}, v ? 1 : 0, DType::Bool, d); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return ops::where(a, b, bool_scalar(false, a.device())); }
Tensor logical_not(const Tensor& a) { return ops::compare(ops::CompareOp::Eq, ops::to(a, DType::UInt8), 0.0); }
}  // namespace

ProtoLossResult proto_loss(const Tensor& z, const Tensor& labels, const Tensor& protos, const Tensor& filled,
                           const ProtoLossOptions& o, const std::vector<int64_t>& class_dataset,
                           const ProtoLossPixels& px) {
  const Tensor &labels2 = px.labels2, &mix_weight = px.mix_weight;
  MDP_CHECK(z.dim() == 2, "proto_loss: embeddings {} must be (P, D)", shape_str(z.shape()));
  MDP_CHECK(protos.dim() == 2 && protos.size(1) == z.size(1), "proto_loss: prototypes {} do not match embeddings {}",
            shape_str(protos.shape()), shape_str(z.shape()));
  MDP_CHECK(labels.dtype() == DType::Int64 && labels.shape() == Shape{z.size(0)},
            "proto_loss: labels {} {} must be int64 (P) for embeddings {}", dtype_name(labels.dtype()),
            shape_str(labels.shape()), shape_str(z.shape()));
  MDP_CHECK(filled.dtype() == DType::Bool && filled.shape() == Shape{protos.size(0)},
            "proto_loss: filled mask {} must be bool (C) for prototypes {}", shape_str(filled.shape()), shape_str(protos.shape()));
  MDP_CHECK(o.tau > 0 && o.k >= 0 && o.lambda_sc >= 0, "proto_loss: invalid tau {} / k {} / lambda {}", o.tau, o.k, o.lambda_sc);
  MDP_CHECK(!o.other_datasets_only || int64_t(class_dataset.size()) == protos.size(0),
            "proto_loss: other_datasets_only needs the dataset of each of the {} classes", protos.size(0));
  MDP_CHECK(labels2.defined() == mix_weight.defined(), "proto_loss: labels2 and mix_weight go together");
  MDP_CHECK(!labels2.defined() || o.sparse_coding != SparseCoding::Exclude,
            "proto_loss: sparse coding setting 1 (exclude) drops each pixel's top-k other classes from the softmax, which "
            "can drop a soft target's second class: use it without soft targets (mdp.blend)");
  MDP_CHECK(!px.weight.defined() || (px.weight.shape() == Shape{z.size(0)} && is_floating(px.weight.dtype()) &&
                                      px.weight.device() == z.device()),
            "proto_loss: pixel weights {} {} must be floating (P) on the embeddings' device, for embeddings {}",
            px.weight.defined() ? dtype_name(px.weight.dtype()) : "", px.weight.defined() ? shape_str(px.weight.shape()) : "",
            shape_str(z.shape()));
  const int64_t P = z.size(0), C = protos.size(0);
  const Device dev = z.device();
  Tensor zd = detach(z), pt = ops::to(protos, z.dtype());

  // Valid pixels: a class label whose prototype exists. y_safe replaces invalid labels by 0.
  auto valid_of = [&](const Tensor& y) {
    Tensor in_range = logical_and(ops::compare(ops::CompareOp::Ge, y, 0.0), ops::compare(ops::CompareOp::Lt, y, double(C)));
    Tensor y_safe = ops::where(in_range, y, ops::zeros({}, DType::Int64, dev));
    for (double v : ops::to_vector(ops::where(in_range, ops::full({}, 0, DType::Int64, dev), y)))
      MDP_CHECK(v == 0 || int64_t(v) == o.ignore_index, "proto_loss: label {} is out of range for {} classes (ignore {})",
                int64_t(v), C, o.ignore_index);
    Tensor has_proto = ops::index_select(filled, 0, y_safe);
    return std::pair{logical_and(in_range, has_proto), y_safe};
  };
  auto [valid, y] = valid_of(labels);
  const int64_t count = int64_t(ops::sum(ops::to(valid, DType::Int64)).item());

  Tensor S = ops::mul(ops::matmul(zd, pt, false, true), 1.0 / o.tau);        // (P, C)
  Tensor col_ok = ops::unsqueeze(filled, 0);                                 // (1, C)
  Tensor S_all = ops::where(col_ok, S, scalar(kMasked, S));                  // unfilled classes out

  // Top-k most similar candidates: filled, not the pixel's own class, optionally other datasets only.
  Tensor cand = logical_and(ops::expand(col_ok, {P, C}), logical_not(ops::to(ops::one_hot(y, C, DType::UInt8), DType::Bool)));
  if (o.other_datasets_only) {
    std::vector<double> cd(class_dataset.begin(), class_dataset.end());
    Tensor ds = ops::from_vector(cd, {C}, DType::Int64, dev);
    Tensor same = ops::compare(ops::CompareOp::Eq, ops::unsqueeze(ds, 0), ops::unsqueeze(ops::index_select(ds, 0, y), 1));
    cand = logical_and(cand, logical_not(same));
  }
  int64_t k = o.sparse_coding == SparseCoding::None ? 0 : std::min(o.k, C);
  Tensor top_idx, top_ok;  // (P, k) indices and whether each is a real candidate
  if (k > 0) {
    auto [vals, idx] = ops::topk(ops::where(cand, S, scalar(kMasked, S)), k, 1);
    top_idx = idx;
    top_ok = ops::compare(ops::CompareOp::Gt, vals, kMasked / 2);
  }
  Tensor S_den = S_all;
  if (o.sparse_coding == SparseCoding::Exclude && k > 0) {  // setting 1: the top-k leave the denominator
    Tensor drop = ops::scatter(ops::zeros({P, C}, DType::UInt8, dev), 1, top_idx, ops::to(top_ok, DType::UInt8));
    S_den = ops::where(ops::compare(ops::CompareOp::Ne, drop, 0.0), scalar(kMasked, S), S_all);
  }
  Tensor logq = ops::log_softmax(S_den, 1);  // (P, C)

  // Target weights t (P, C): the label (or the soft pair), plus lambda/|T| on each top-k class (Pull).
  Tensor vf = ops::to(valid, z.dtype());  // (P): 1 for a valid pixel, times its weight a_i when given
  if (px.weight.defined()) vf = ops::mul(vf, ops::to(px.weight, z.dtype()));
  Tensor w1 = vf;
  std::vector<Tensor> idx_parts{ops::unsqueeze(y, 1)}, w_parts;
  if (labels2.defined()) {
    auto [valid2, y2] = valid_of(labels2);
    Tensor mw = ops::to(mix_weight, z.dtype());
    Tensor w2 = ops::mul(ops::mul(vf, ops::to(valid2, z.dtype())), ops::add(ops::mul(mw, -1.0), 1.0));
    w1 = ops::sub(vf, w2);
    idx_parts.push_back(ops::unsqueeze(y2, 1));
    w_parts = {ops::unsqueeze(w1, 1), ops::unsqueeze(w2, 1)};
  } else {
    w_parts = {ops::unsqueeze(w1, 1)};
  }
  Tensor main_t = ops::scatter_add({P, C}, 1, ops::cat(idx_parts, 1), ops::cat(w_parts, 1));
  Tensor l_proto_i = ops::mul(ops::sum(ops::mul(main_t, logq), {1}), -1.0);  // (P)
  Tensor sc_t;
  Tensor l_sc_i;
  if (o.sparse_coding == SparseCoding::Pull && k > 0) {
    Tensor okf = ops::mul(ops::to(top_ok, z.dtype()), ops::unsqueeze(ops::to(valid, z.dtype()), 1));  // (P, k)
    Tensor n = ops::binary(ops::BinaryOp::Max, ops::sum(okf, {1}, true), 1.0);  // |T_i|, at least 1
    Tensor share = ops::div(okf, n);                                             // rows sum to 1 or 0
    if (px.weight.defined()) share = ops::mul(share, ops::unsqueeze(vf, 1));    // rows sum to a_i or 0
    sc_t = ops::scatter_add({P, C}, 1, top_idx, share);                          // (P, C)
    l_sc_i = ops::mul(ops::sum(ops::mul(sc_t, logq), {1}), -1.0);
  }

  ProtoLossResult r;
  r.pixels = count;
  r.weight = px.weight.defined() ? ops::sum(vf).item() : double(count);
  const bool any = r.weight > 0;
  double denom = any ? r.weight : 1.0;
  r.proto = any ? ops::sum(l_proto_i).item() / denom : 0.0;
  r.sparse = l_sc_i.defined() && any ? ops::sum(l_sc_i).item() / denom : 0.0;
  double lam = o.sparse_coding == SparseCoding::Pull ? o.lambda_sc : 0.0;
  Tensor t = sc_t.defined() ? ops::add(main_t, ops::mul(sc_t, lam)) : main_t;
  r.loss = ops::full({}, r.proto + lam * r.sparse, z.dtype(), dev);

  // Backward: dL/ds = (rowsum(t) q - t) / denom (the pixel count, or the weights' sum); dL/dz = dL/ds P / tau.
  record("proto_loss", {z}, {r.loss}, [logq, t, pt, tau = o.tau, denom](const TensorList& g) -> TensorList {
    Tensor q = ops::unary(ops::UnaryOp::Exp, logq);
    Tensor dS = ops::sub(ops::mul(q, ops::sum(t, {1}, true)), t);
    Tensor dz = ops::matmul(dS, pt);
    return {ops::mul(dz, ops::mul(g[0], 1.0 / (tau * denom)))};
  });
  return r;
}

Tensor region_weights(const Tensor& labels, int64_t C, Device device) {
  MDP_CHECK(labels.dim() == 3 && labels.dtype() == DType::Int64, "region_weights: labels {} {} must be int64 (N, h, w)",
            dtype_name(labels.dtype()), shape_str(labels.shape()));
  std::vector<double> y = ops::to_vector(labels), a(y.size(), 0.0);
  const size_t N = size_t(labels.size(0)), hw = y.size() / std::max<size_t>(N, 1);
  std::vector<int64_t> count(static_cast<size_t>(C), 0);
  for (size_t n = 0; n < N; ++n) {
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = n * hw; i < (n + 1) * hw; ++i)
      if (y[i] >= 0 && y[i] < double(C)) ++count[size_t(y[i])];
    for (size_t i = n * hw; i < (n + 1) * hw; ++i)
      if (y[i] >= 0 && y[i] < double(C)) a[i] = 1.0 / double(count[size_t(y[i])]);
  }
  return ops::to(ops::from_vector(a, {int64_t(a.size())}, DType::Float32), device);
}

}  // namespace mdp
