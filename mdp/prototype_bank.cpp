// prototype_bank.cpp: per-class queues and prototypes.
#include "mdp/prototype_bank.h"

#include <cmath>

#include "tensor/error.h"

namespace mdp {
namespace {
void normalize(std::vector<float>& v, size_t at, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(v[at + i]) * v[at + i];
  double inv = 1.0 / std::max(std::sqrt(s), 1e-12);
  for (size_t i = 0; i < n; ++i) v[at + i] = float(v[at + i] * inv);
}
}  // namespace

PrototypeBank::PrototypeBank(const PrototypeBankOptions& o, Device device) : o_(o), device_(device) {
  MDP_CHECK(o.num_classes > 0 && o.dim > 0, "PrototypeBank: needs classes and dim > 0, got {} and {}", o.num_classes, o.dim);
  MDP_CHECK(o.mode == "queue" || o.mode == "ema", "PrototypeBank: unknown mode '{}' (queue or ema)", o.mode);
  MDP_CHECK(o.mode != "queue" || o.queue_length > 0, "PrototypeBank: queue_length must be positive");
  MDP_CHECK(o.ema_momentum >= 0 && o.ema_momentum < 1, "PrototypeBank: ema_momentum {} not in [0, 1)", o.ema_momentum);
  queues_.resize(size_t(o.num_classes));
  head_.assign(size_t(o.num_classes), 0);
  host_protos_.assign(size_t(o.num_classes * o.dim), 0.f);
  host_filled_.assign(size_t(o.num_classes), 0);
  protos_ = ops::zeros({o.num_classes, o.dim}, DType::Float32, device);
  filled_ = ops::zeros({o.num_classes}, DType::Bool, device);
}

void PrototypeBank::push(int64_t c, const std::vector<float>& r) {
  MDP_CHECK(c >= 0 && c < o_.num_classes && int64_t(r.size()) == o_.dim, "PrototypeBank::push: class {} / dim {}", c, r.size());
  size_t D = size_t(o_.dim);
  if (o_.mode == "ema") {
    float* p = host_protos_.data() + size_t(c) * D;
    for (size_t i = 0; i < D; ++i) p[i] = host_filled_[size_t(c)] ? float(o_.ema_momentum * p[i] + (1 - o_.ema_momentum) * r[i]) : r[i];
    normalize(host_protos_, size_t(c) * D, D);
  } else {
    auto& q = queues_[size_t(c)];
    if (q.size() < size_t(o_.queue_length) * D) {
      q.insert(q.end(), r.begin(), r.end());
    } else {
      std::copy(r.begin(), r.end(), q.begin() + head_[size_t(c)] * int64_t(D));
      head_[size_t(c)] = (head_[size_t(c)] + 1) % o_.queue_length;
    }
    refresh(c);
  }
  host_filled_[size_t(c)] = 1;
}

void PrototypeBank::refresh(int64_t c) {
  size_t D = size_t(o_.dim);
  const auto& q = queues_[size_t(c)];
  size_t n = q.size() / D;
  std::vector<double> mean(D, 0.0);
  for (size_t j = 0; j < n; ++j)
    for (size_t i = 0; i < D; ++i) mean[i] += q[j * D + i];
  for (size_t i = 0; i < D; ++i) host_protos_[size_t(c) * D + i] = float(mean[i] / double(std::max<size_t>(n, 1)));
  normalize(host_protos_, size_t(c) * D, D);
}

void PrototypeBank::update(const Tensor& keys, const Tensor& labels) {
  MDP_CHECK(keys.dim() == 4 && keys.size(1) == o_.dim, "PrototypeBank::update: keys {} must be (B, {}, h, w)",
            shape_str(keys.shape()), o_.dim);
  MDP_CHECK(labels.dim() == 3 && labels.size(0) == keys.size(0) && labels.size(1) == keys.size(2) &&
                labels.size(2) == keys.size(3) && labels.dtype() == DType::Int64,
            "PrototypeBank::update: labels {} must be int64 (B, h, w) matching keys {}", shape_str(labels.shape()),
            shape_str(keys.shape()));
  const int64_t B = keys.size(0), D = o_.dim, S = keys.size(2) * keys.size(3), C = o_.num_classes;
  // Per image and class: sums of key embeddings via one_hot^T @ keys on the device, then host.
  Tensor k = ops::reshape(ops::permute(keys, {0, 2, 3, 1}), {B, S, D});        // (B, S, D)
  Tensor lab = ops::reshape(labels, {B, S});
  Tensor in_range = ops::where(ops::compare(ops::CompareOp::Ge, lab, 0.0), ops::compare(ops::CompareOp::Lt, lab, double(C)),
                               ops::zeros({}, DType::Bool, lab.device()));
  Tensor safe = ops::where(in_range, lab, ops::zeros({}, DType::Int64, lab.device()));
  Tensor onehot = ops::mul(ops::one_hot(safe, C, keys.dtype()), ops::unsqueeze(ops::to(in_range, keys.dtype()), 2));  // (B, S, C)
  Tensor sums = ops::matmul(onehot, k, true, false);                                                               // (B, C, D)
  Tensor counts = ops::sum(onehot, {1});                                                                           // (B, C)
  std::vector<double> hs = ops::to_vector(sums), hc = ops::to_vector(counts);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double n = hc[size_t(b * C + c)];
      if (n <= 0) continue;
      std::vector<float> r(static_cast<size_t>(D));
      for (int64_t i = 0; i < D; ++i) r[size_t(i)] = float(hs[size_t((b * C + c) * D + i)] / n);
      normalize(r, 0, size_t(D));
      push(c, r);
    }
  publish();
}

void PrototypeBank::publish() {
  const size_t C = size_t(o_.num_classes), D = size_t(o_.dim);
  std::vector<float> p = host_protos_;
  if (o_.center) {
    std::vector<double> mean(D, 0.0);
    size_t n = 0;
    for (size_t c = 0; c < C; ++c)
      if (host_filled_[c]) {
        for (size_t i = 0; i < D; ++i) mean[i] += p[c * D + i];
        ++n;
      }
    for (size_t c = 0; c < C; ++c)
      if (host_filled_[c]) {
        for (size_t i = 0; i < D; ++i) p[c * D + i] = float(p[c * D + i] - mean[i] / double(n));
        normalize(p, c * D, D);  // one filled class alone centres to 0 (every logit 0)
      }
  }
  protos_ = ops::from_blob_copy(p.data(), {int64_t(C), int64_t(D)}, DType::Float32, device_);
  std::vector<double> f(host_filled_.begin(), host_filled_.end());
  filled_ = ops::to(ops::from_vector(f, {int64_t(C)}, DType::Bool), device_);
}

Tensor PrototypeBank::class_means() const {
  return ops::from_blob_copy(host_protos_.data(), {o_.num_classes, o_.dim}, DType::Float32, device_);
}

int64_t PrototypeBank::num_filled() const {
  int64_t n = 0;
  for (uint8_t f : host_filled_) n += f;
  return n;
}

nn::NamedTensors PrototypeBank::state() const {
  nn::NamedTensors s{{"bank.prototypes", ops::from_blob_copy(host_protos_.data(), {o_.num_classes, o_.dim}, DType::Float32)},
                     {"bank.filled", ops::from_blob_copy(host_filled_.data(), {o_.num_classes}, DType::UInt8)}};
  std::vector<double> head(head_.begin(), head_.end());
  s.emplace_back("bank.head", ops::from_vector(head, {o_.num_classes}, DType::Int64));
  for (int64_t c = 0; c < o_.num_classes; ++c)
    if (!queues_[size_t(c)].empty())
      s.emplace_back("bank.queue." + std::to_string(c),
                     ops::from_blob_copy(queues_[size_t(c)].data(), {queue_size(c), o_.dim}, DType::Float32));
  return s;
}

void PrototypeBank::load_state(const nn::NamedTensors& s) {
  auto find = [&](const std::string& n) -> const Tensor* {
    for (auto& [name, t] : s) if (name == n) return &t;
    return nullptr;
  };
  const Tensor* p = find("bank.prototypes");
  const Tensor* f = find("bank.filled");
  const Tensor* h = find("bank.head");
  MDP_CHECK(p && f && h, "PrototypeBank::load_state: the checkpoint has no prototype bank");
  MDP_CHECK(p->shape() == (Shape{o_.num_classes, o_.dim}), "PrototypeBank::load_state: checkpoint bank {} does not match "
            "{} classes x dim {}", shape_str(p->shape()), o_.num_classes, o_.dim);
  auto pv = ops::to_vector(*p), fv = ops::to_vector(*f), hv = ops::to_vector(*h);
  host_protos_.assign(pv.begin(), pv.end());
  for (size_t c = 0; c < host_filled_.size(); ++c) {
    host_filled_[c] = uint8_t(fv[c]);
    head_[c] = int64_t(hv[c]);
    queues_[c].clear();
    if (const Tensor* q = find("bank.queue." + std::to_string(c))) {
      MDP_CHECK(q->dim() == 2 && q->size(1) == o_.dim && q->size(0) <= o_.queue_length,
                "PrototypeBank::load_state: queue of class {} has shape {}", c, shape_str(q->shape()));
      auto qv = ops::to_vector(*q);
      queues_[c].assign(qv.begin(), qv.end());
    }
  }
  publish();
}

}  // namespace mdp
