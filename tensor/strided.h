// strided.h: element-by-element access to CPU tensors of any layout and dtype, converting to double.
// Used by the reference backend, printing and to_vector; never on a hot path.
#pragma once
#include <vector>

#include "tensor.h"

namespace mdp {

// Calls f(index) for every multi-index of shape in row-major order (once for a 0-d shape).
template <class F>
void for_each_index(const Shape& shape, F&& f) {
  if (shape_numel(shape) == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  while (true) {
    f(idx);
    int64_t d = int64_t(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

std::vector<double> read_strided(const Tensor& t);                        // row-major values
void write_strided(const Tensor& t, const std::vector<double>& values);  // row-major values

}  // namespace mdp
