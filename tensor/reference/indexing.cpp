// indexing.cpp (reference): gather, scatter, scatter_add, index_select, index_add, one_hot and topk by
// walking every index; indices out of range are errors naming the op, the value and the bound.
#include <algorithm>
#include <numeric>

#include "tensor/error.h"
#include "tensor/reference/reference_backend.h"
#include "tensor/strided.h"

namespace mdp {
namespace {
int64_t flat(const std::vector<int64_t>& i, const Shape& strides) {
  int64_t o = 0;
  for (size_t d = 0; d < i.size(); ++d) o += i[d] * strides[d];
  return o;
}
int64_t checked(const char* op, double v, int64_t bound) {
  int64_t i = int64_t(v);
  MDP_CHECK(i >= 0 && i < bound, "{}: index {} is out of range for a dim of size {}", op, i, bound);
  return i;
}
// Calls f(index_position, position_in_target) for each element of index along dim.
template <class F>
void for_each_scatter(const char* op, const Tensor& index, const Shape& target, int64_t dim, F&& f) {
  auto vi = read_strided(index);
  Shape ts = contiguous_strides(target);
  size_t k = 0;
  for_each_index(index.shape(), [&](std::vector<int64_t> i) {
    size_t pos = k++;
    i[size_t(dim)] = checked(op, vi[pos], target[size_t(dim)]);
    f(pos, size_t(flat(i, ts)));
  });
}
}  // namespace

void ReferenceBackend::gather(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  auto vx = read_strided(x);
  std::vector<double> vo(size_t(out.numel()));
  for_each_scatter("gather", index, x.shape(), dim, [&](size_t p, size_t t) { vo[p] = vx[t]; });
  write_strided(out, vo);
}

void ReferenceBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  auto vo = read_strided(out), vs = read_strided(src);
  for_each_scatter("scatter_add", index, out.shape(), dim, [&](size_t p, size_t t) { vo[t] += vs[p]; });
  write_strided(out, vo);
}

void ReferenceBackend::scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  auto vo = read_strided(out), vs = read_strided(src);
  for_each_scatter("scatter", index, out.shape(), dim, [&](size_t p, size_t t) { vo[t] = vs[p]; });
  write_strided(out, vo);
}

void ReferenceBackend::index_select(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  auto vx = read_strided(x), vi = read_strided(index);
  Shape xs = contiguous_strides(x.shape());
  std::vector<double> vo;
  vo.reserve(size_t(out.numel()));
  for_each_index(out.shape(), [&](std::vector<int64_t> i) {
    i[size_t(dim)] = checked("index_select", vi[size_t(i[size_t(dim)])], x.shape()[size_t(dim)]);
    vo.push_back(vx[size_t(flat(i, xs))]);
  });
  write_strided(out, vo);
}

void ReferenceBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  auto vo = read_strided(out), vs = read_strided(src), vi = read_strided(index);
  Shape os = contiguous_strides(out.shape());
  size_t k = 0;
  for_each_index(src.shape(), [&](std::vector<int64_t> i) {
    i[size_t(dim)] = checked("index_add", vi[size_t(i[size_t(dim)])], out.shape()[size_t(dim)]);
    vo[size_t(flat(i, os))] += vs[k++];
  });
  write_strided(out, vo);
}

void ReferenceBackend::one_hot(const Tensor& out, const Tensor& labels) {
  auto vl = read_strided(labels);
  int64_t K = out.shape().back();
  std::vector<double> vo(size_t(out.numel()), 0.0);
  for (size_t i = 0; i < vl.size(); ++i) vo[i * size_t(K) + size_t(checked("one_hot", vl[i], K))] = 1.0;
  write_strided(out, vo);
}

void ReferenceBackend::topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t dim,
                            bool largest) {
  auto vx = read_strided(x);
  Shape xs = contiguous_strides(x.shape()), vs = contiguous_strides(values.shape());
  int64_t n = x.shape()[size_t(dim)];
  std::vector<double> vv(size_t(values.numel())), vi(size_t(values.numel()));
  Shape outer = x.shape();
  outer[size_t(dim)] = 1;
  for_each_index(outer, [&](const std::vector<int64_t>& i) {
    int64_t xb = flat(i, xs), vb = flat(i, vs);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto val = [&](int64_t j) { return vx[size_t(xb + j * xs[size_t(dim)])]; };
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return largest ? val(a) > val(b) : val(a) < val(b); });
    for (int64_t j = 0; j < k; ++j) {
      vv[size_t(vb + j * vs[size_t(dim)])] = val(order[size_t(j)]);
      vi[size_t(vb + j * vs[size_t(dim)])] = double(order[size_t(j)]);
    }
  });
  write_strided(values, vv);
  write_strided(indices, vi);
}

Backend& reference_backend() {
  static ReferenceBackend b;
  return b;
}

}  // namespace mdp
