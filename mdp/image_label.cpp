// image_label.cpp: the majority object class of each label map (a host-side count per image).
#include "mdp/image_label.h"

#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp {

Tensor image_labels(const Tensor& labels, const std::vector<bool>& background, int64_t ignore_index) {
  MDP_CHECK(labels.dim() == 3 && labels.dtype() == DType::Int64, "image_labels: labels must be (N, H, W) int64, got {} {}",
            shape_str(labels.shape()), dtype_name(labels.dtype()));
  Tensor y = ops::contiguous(ops::to(labels, Device::cpu()));
  const int64_t N = y.size(0), HW = y.size(1) * y.size(2), C = int64_t(background.size());
  const int64_t* p = y.data<int64_t>();
  std::vector<double> out(static_cast<size_t>(N), double(ignore_index));
  std::vector<int64_t> count(static_cast<size_t>(C));
  for (int64_t n = 0; n < N; ++n) {
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < HW; ++i) {
      int64_t c = p[n * HW + i];
      if (c != ignore_index && c >= 0 && c < C && !background[size_t(c)]) ++count[size_t(c)];
    }
    int64_t best = -1;
    for (int64_t c = 0; c < C; ++c)
      if (count[size_t(c)] > 0 && (best < 0 || count[size_t(c)] > count[size_t(best)])) best = c;
    if (best >= 0) out[size_t(n)] = double(best);
  }
  return ops::from_vector(out, {N}, DType::Int64);
}

}  // namespace mdp
