// metrics.cpp: IoU bookkeeping.
#include "mdp/metrics.h"

#include <cmath>

#include "mdp/json.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {

SegMetrics::SegMetrics(int64_t K, int64_t ignore) : K_(K), ignore_(ignore), inter_(size_t(K)), pred_(size_t(K)), label_(size_t(K)) {
  MDP_CHECK(K > 0, "SegMetrics: number of classes must be positive, got {}", K);
}

void SegMetrics::add(const Tensor& pred, const Tensor& label) {
  MDP_CHECK(pred.shape() == label.shape(), "SegMetrics: prediction {} and label {} differ in shape", shape_str(pred.shape()),
            shape_str(label.shape()));
  std::vector<double> p = ops::to_vector(pred), l = ops::to_vector(label);
  for (size_t i = 0; i < p.size(); ++i) {
    int64_t y = int64_t(l[i]), q = int64_t(p[i]);
    if (y == ignore_) continue;
    MDP_CHECK(y >= 0 && y < K_, "SegMetrics: label {} is out of range for {} classes (ignore {})", y, K_, ignore_);
    MDP_CHECK(q >= 0 && q < K_, "SegMetrics: prediction {} is out of range for {} classes", q, K_);
    label_[size_t(y)] += 1;
    pred_[size_t(q)] += 1;
    if (q == y) inter_[size_t(y)] += 1;
  }
}

SegScores SegMetrics::scores() const {
  SegScores s;
  double sum_iou = 0, sum_acc = 0, n_iou = 0, n_acc = 0, inter = 0, labelled = 0;
  for (int64_t c = 0; c < K_; ++c) {
    double uni = pred_[size_t(c)] + label_[size_t(c)] - inter_[size_t(c)];
    double iou = uni > 0 ? inter_[size_t(c)] / uni : NAN, acc = label_[size_t(c)] > 0 ? inter_[size_t(c)] / label_[size_t(c)] : NAN;
    s.iou.push_back(iou);
    s.acc.push_back(acc);
    if (!std::isnan(iou)) { sum_iou += iou; n_iou += 1; }
    if (!std::isnan(acc)) { sum_acc += acc; n_acc += 1; }
    inter += inter_[size_t(c)];
    labelled += label_[size_t(c)];
  }
  s.miou = n_iou ? sum_iou / n_iou : NAN;
  s.macc = n_acc ? sum_acc / n_acc : NAN;
  s.aacc = labelled ? inter / labelled : NAN;
  return s;
}

namespace {
std::string pct(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.2f}", 100 * v); }
std::string name_of(const std::vector<std::string>& names, int64_t c) {
  return size_t(c) < names.size() ? names[size_t(c)] : std::to_string(c);
}
}  // namespace

std::string SegMetrics::table(const std::vector<std::string>& names) const {
  SegScores s = scores();
  size_t w = 12;
  for (int64_t c = 0; c < K_; ++c) w = std::max(w, name_of(names, c).size());
  std::string t = fmt::format("+-{:-<{}}-+--------+--------+\n| {:<{}} |  IoU   |  Acc   |\n+-{:-<{}}-+--------+--------+\n", "", w,
                              "Class", w, "", w);
  for (int64_t c = 0; c < K_; ++c)
    t += fmt::format("| {:<{}} | {:>6} | {:>6} |\n", name_of(names, c), w, pct(s.iou[size_t(c)]), pct(s.acc[size_t(c)]));
  t += fmt::format("+-{:-<{}}-+--------+--------+\n", "", w);
  t += fmt::format("aAcc {}  mIoU {}  mAcc {}\n", pct(s.aacc), pct(s.miou), pct(s.macc));
  return t;
}

std::string SegMetrics::json(const std::vector<std::string>& names) const {
  SegScores s = scores();
  Json j = {{"aAcc", json_number(100 * s.aacc, 4)}, {"mIoU", json_number(100 * s.miou, 4)}, {"mAcc", json_number(100 * s.macc, 4)},
            {"classes", Json::array()}};
  for (int64_t c = 0; c < K_; ++c)
    j["classes"].push_back({{"name", name_of(names, c)}, {"IoU", json_number(100 * s.iou[size_t(c)], 4)},
                            {"Acc", json_number(100 * s.acc[size_t(c)], 4)}});
  return json_text(j);
}

}  // namespace mdp
