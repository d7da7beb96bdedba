// reduce.cpp (reference): sum, mean, max, min over the dims where out has size 1, and max/min with index.
#include <cmath>
#include <limits>

#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {

void ReferenceBackend::reduce(ops::ReduceOp op, const Tensor& out, const Tensor& x) {
  auto vx = read_strided(x);
  Shape ostr = contiguous_strides(out.shape());
  bool is_max = op == ops::ReduceOp::Max, is_min = op == ops::ReduceOp::Min;
  double init = is_max ? -std::numeric_limits<double>::infinity()
                       : is_min ? std::numeric_limits<double>::infinity() : 0.0;
  std::vector<double> acc(size_t(out.numel()), init);
  size_t k = 0;
  for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
    int64_t o = 0;
    for (size_t d = 0; d < i.size(); ++d) o += (out.shape()[d] == 1 ? 0 : i[d]) * ostr[d];
    double v = vx[k++];
    double& a = acc[size_t(o)];
    if (is_max) a = (std::isnan(v) || v > a) ? v : a;
    else if (is_min) a = (std::isnan(v) || v < a) ? v : a;
    else a += v;
  });
  if (op == ops::ReduceOp::Mean)
    for (auto& a : acc) a /= double(x.numel() / out.numel());
  write_strided(out, acc);
}

void ReferenceBackend::arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& x,
                                  int64_t dim) {
  auto vx = read_strided(x);
  Shape xs = contiguous_strides(x.shape());
  std::vector<double> best(size_t(values.numel())), arg(size_t(values.numel()));
  size_t o = 0;
  for_each_index(values.shape(), [&](const std::vector<int64_t>& i) {
    int64_t base = 0;
    for (size_t d = 0; d < i.size(); ++d) base += i[d] * xs[d];
    double b = vx[size_t(base)];
    int64_t bi = 0;
    for (int64_t j = 1; j < x.shape()[dim]; ++j) {
      double v = vx[size_t(base + j * xs[dim])];
      if (std::isnan(b)) break;
      if (std::isnan(v) || (is_max ? v > b : v < b)) {
        b = v;
        bi = j;
      }
    }
    best[o] = b;
    arg[o++] = double(bi);
  });
  write_strided(values, best);
  write_strided(indices, arg);
}

}  // namespace mdp
