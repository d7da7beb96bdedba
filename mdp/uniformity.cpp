// uniformity.cpp: the uniformity loss from autograd ops, and uniform row sampling.
#include "mdp/uniformity.h"

#include <algorithm>
#include <numeric>

#include "tensor/error.h"
#include "tensor/random.h"

namespace mdp {

Tensor uniformity_loss(const Tensor& z, double t) {
  MDP_CHECK(z.dim() == 2 && z.size(0) >= 2, "uniformity_loss: embeddings {} must be (M, D) with M >= 2", shape_str(z.shape()));
  MDP_CHECK(t > 0, "uniformity_loss: t {} must be positive", t);
  const int64_t M = z.size(0);
  Tensor G = matmul(z, z, false, true);  // (M, M) cosines
  Tensor i = ops::arange(0, double(M), 1, DType::Int64, z.device());
  Tensor off = ops::compare(ops::CompareOp::Ne, ops::unsqueeze(i, 1), ops::unsqueeze(i, 0));  // (M, M) bool, i != j
  Tensor e = where(off, exp(mul(add(G, -1.0), 2.0 * t)), ops::zeros({}, z.dtype(), z.device()));  // exp(-t |z_i - z_j|^2)
  return log(mul(sum(e), 1.0 / double(M * (M - 1))));
}

Tensor sample_rows(int64_t n, int64_t m, Generator& gen) {
  MDP_CHECK(n >= 0 && m >= 0, "sample_rows: {} rows, {} to draw", n, m);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  const int64_t take = std::min(n, m);
  if (take < n) partial_shuffle(idx, take, gen);
  idx.resize(size_t(take));
  std::sort(idx.begin(), idx.end());
  std::vector<double> v(idx.begin(), idx.end());
  return ops::from_vector(v, {take}, DType::Int64);
}

}  // namespace mdp
