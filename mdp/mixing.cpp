// mixing.cpp: region and pixel mixing on host tensors.
#include "mdp/mixing.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {

Box region_box(int64_t H, int64_t W, double lambda, double rx, double ry) {
  double s = std::sqrt(std::max(0.0, 1 - lambda));
  int64_t x0 = std::clamp<int64_t>(int64_t(rx), 0, W), y0 = std::clamp<int64_t>(int64_t(ry), 0, H);
  int64_t x1 = std::min<int64_t>(W, x0 + int64_t(std::llround(W * s)));
  int64_t y1 = std::min<int64_t>(H, y0 + int64_t(std::llround(H * s)));
  return {x0, y0, x1, y1};
}

MixedBatch mix_batch(const Tensor& images, const Tensor& labels, const Tensor& dataset_ids, const MixOptions& o,
                     Generator& gen) {
  MDP_CHECK(images.dim() == 4 && images.size(1) == 3 && images.dtype() == DType::Float32 && images.device().is_cpu(),
            "mix_batch: images {} must be float32 (N, 3, H, W) on the cpu", shape_str(images.shape()));
  const int64_t N = images.size(0), H = images.size(2), W = images.size(3), HW = H * W;
  MDP_CHECK(labels.shape() == (Shape{N, H, W}) && labels.dtype() == DType::Int64,
            "mix_batch: labels {} must be int64 (N, H, W) for images {}", shape_str(labels.shape()), shape_str(images.shape()));
  MDP_CHECK(dataset_ids.shape() == Shape{N}, "mix_batch: dataset ids {} must be (N)", shape_str(dataset_ids.shape()));
  MDP_CHECK(o.region_prob >= 0 && o.pixel_prob >= 0 && o.region_prob + o.pixel_prob <= 1,
            "mix_batch: probabilities {} + {} must be in [0, 1]", o.region_prob, o.pixel_prob);
  MixedBatch m;
  Tensor src_img = ops::contiguous(images), src_lab = ops::contiguous(labels);
  m.images = ops::clone(src_img);
  m.labels = ops::clone(src_lab);
  const float* X = src_img.data<float>();
  const int64_t* Y = src_lab.data<int64_t>();
  float* OX = m.images.data<float>();
  int64_t* OY = m.labels.data<int64_t>();
  std::vector<double> ds = ops::to_vector(dataset_ids);
  int64_t* Y2 = nullptr;
  float* MW = nullptr;
  if (o.blend) {
    m.labels2 = ops::full({N, H, W}, double(o.ignore_index), DType::Int64);
    m.mix_weight = ops::ones({N, H, W});
    Y2 = m.labels2.data<int64_t>();
    MW = m.mix_weight.data<float>();
  }
  for (int64_t b = 0; b < N; ++b) {
    MixRecord rec;
    rec.kind = "none";
    double u = gen.uniform();
    std::string kind = u < o.region_prob ? "region" : u < o.region_prob + o.pixel_prob ? "pixel" : "none";
    if (kind != "none" && N > 1) {
      std::vector<int64_t> other, any;
      for (int64_t j = 0; j < N; ++j) {
        if (j == b) continue;
        any.push_back(j);
        if (ds[size_t(j)] != ds[size_t(b)]) other.push_back(j);
      }
      const auto& pool = other.empty() ? any : other;
      int64_t p = pool[size_t(gen.randint(0, int64_t(pool.size())))];
      rec.kind = kind;
      rec.partner = p;
      auto paste = [&](int64_t pix, double lam) {  // pixel index within the plane
        for (int64_t c = 0; c < 3; ++c) {
          size_t dst = size_t((b * 3 + c) * HW + pix), src = size_t((p * 3 + c) * HW + pix);
          OX[dst] = float(lam * X[src] + (1 - lam) * X[dst]);
        }
        OY[size_t(b * HW + pix)] = Y[size_t(p * HW + pix)];
      };
      if (kind == "region") {
        double lam = gen.uniform();
        double rx = gen.uniform(0, double(W)), ry = gen.uniform(0, double(H));
        rec.box = region_box(H, W, lam, rx, ry);
        rec.lambda = lam;
        for (int64_t y = rec.box.y0; y < rec.box.y1; ++y)
          for (int64_t x = rec.box.x0; x < rec.box.x1; ++x) paste(y * W + x, 1.0);
      } else {
        std::set<int64_t> present;
        for (int64_t i = 0; i < HW; ++i)
          if (Y[size_t(p * HW + i)] != o.ignore_index) present.insert(Y[size_t(p * HW + i)]);
        std::vector<int64_t> classes(present.begin(), present.end());
        for (size_t i = classes.size(); i > 1; --i) std::swap(classes[i - 1], classes[size_t(gen.randint(0, int64_t(i)))]);
        classes.resize(classes.size() / 2);
        std::sort(classes.begin(), classes.end());
        rec.classes = classes;
        double lam = o.blend ? gen.uniform() : 1.0;
        rec.lambda = lam;
        for (int64_t i = 0; i < HW; ++i) {
          int64_t yp = Y[size_t(p * HW + i)];
          if (!std::binary_search(classes.begin(), classes.end(), yp)) continue;
          int64_t own = Y[size_t(b * HW + i)];
          paste(i, lam);
          if (o.blend) {
            Y2[size_t(b * HW + i)] = own;
            MW[size_t(b * HW + i)] = own == o.ignore_index ? 1.0f : float(lam);
          }
        }
      }
    }
    m.records.push_back(rec);
  }
  return m;
}

}  // namespace mdp
