// strided.cpp: row-major reads and writes of CPU tensors of any strides and dtype.
#include "tensor/strided.h"

#include "tensor/error.h"

namespace mdp {

std::vector<double> read_strided(const Tensor& t) {
  MDP_CHECK(t.device().is_cpu(), "read_strided: tensor is on {}", t.device().str());
  std::vector<double> v;
  v.reserve(size_t(t.numel()));
  dispatch_dtype(t.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* base = static_cast<const T*>(t.raw_data());
    const Shape& st = t.strides();
    for_each_index(t.shape(), [&](const std::vector<int64_t>& i) {
      int64_t off = 0;
      for (size_t d = 0; d < i.size(); ++d) off += i[d] * st[d];
      v.push_back(double(base[off]));
    });
  });
  return v;
}

void write_strided(const Tensor& t, const std::vector<double>& values) {
  MDP_CHECK(t.device().is_cpu(), "write_strided: tensor is on {}", t.device().str());
  MDP_CHECK(int64_t(values.size()) == t.numel(), "write_strided: {} values for shape {}", values.size(),
            shape_str(t.shape()));
  size_t k = 0;
  dispatch_dtype(t.dtype(), [&](auto z) {
    using T = decltype(z);
    T* base = static_cast<T*>(t.raw_data());
    const Shape& st = t.strides();
    for_each_index(t.shape(), [&](const std::vector<int64_t>& i) {
      int64_t off = 0;
      for (size_t d = 0; d < i.size(); ++d) off += i[d] * st[d];
      base[off] = T(values[k++]);
    });
  });
}

}  // namespace mdp
