// reduce.cpp (cpu): reductions by moving the reduced dims last (one contiguous copy when they are not),
// then one accumulation per output row, rows in parallel. Accumulates in double.
#include <cmath>
#include <limits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace mdp {
using namespace cpu;
namespace {
// x as a contiguous (rows, len) block with the reduced dims (where out has size 1) last.
Tensor rows_last(const Tensor& x, const Tensor& out, int64_t& rows, int64_t& len) {
  std::vector<int64_t> keep, red;
  for (int64_t d = 0; d < x.dim(); ++d) (out.shape()[d] == 1 && x.shape()[d] != 1 ? red : keep).push_back(d);
  std::vector<int64_t> perm = keep;
  perm.insert(perm.end(), red.begin(), red.end());
  Tensor p = ops::contiguous(ops::permute(x, perm));
  rows = out.numel();
  len = x.numel() / std::max<int64_t>(rows, 1);
  return p;
}
}  // namespace

void CpuBackend::reduce(ops::ReduceOp op, const Tensor& out, const Tensor& x) {
  int64_t rows, len;
  Tensor p = rows_last(x, out, rows, len);
  dispatch_dtype(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* src = static_cast<const T*>(p.raw_data());
    T* dst = static_cast<T*>(out.raw_data());  // out is freshly allocated and contiguous
#pragma omp parallel for if (rows > 1 && rows * len > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T* s = src + r * len;
      double acc;
      if (op == ops::ReduceOp::Max || op == ops::ReduceOp::Min) {
        acc = cast<double>(s[0]);
        bool mx = op == ops::ReduceOp::Max;
        for (int64_t i = 1; i < len; ++i) {
          double v = cast<double>(s[i]);
          if (std::isnan(v) || (mx ? v > acc : v < acc)) acc = v;
          if (std::isnan(acc)) break;
        }
      } else {
        acc = 0;
        for (int64_t i = 0; i < len; ++i) acc += cast<double>(s[i]);
        if (op == ops::ReduceOp::Mean) acc /= double(len);
      }
      dst[r] = cast<T>(acc);
    }
  });
}

void CpuBackend::arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t dim) {
  int64_t rows, len;
  Tensor p = rows_last(x, values, rows, len);
  if (x.shape()[dim] == 1) len = 1;
  dispatch_dtype(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* src = static_cast<const T*>(p.raw_data());
    T* vals = static_cast<T*>(values.raw_data());
    int64_t* idx = static_cast<int64_t*>(indices.raw_data());
#pragma omp parallel for if (rows * len > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      const T* s = src + r * len;
      double best = cast<double>(s[0]);
      int64_t bi = 0;
      for (int64_t i = 1; i < len && !std::isnan(best); ++i) {
        double v = cast<double>(s[i]);
        if (std::isnan(v) || (is_max ? v > best : v < best)) {
          best = v;
          bi = i;
        }
      }
      vals[r] = s[bi];
      idx[r] = bi;
    }
  });
}

}  // namespace mdp
