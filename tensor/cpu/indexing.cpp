// indexing.cpp (cpu): gather, scatter, scatter_add, index_select, index_add, one_hot and topk as typed
// loops. Scatter-style ops run serially (two indices may hit the same element); the rest in parallel.
#include <algorithm>
#include <numeric>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/error.h"

namespace mdp {
using namespace cpu;
namespace {
int64_t checked(const char* op, int64_t i, int64_t bound) {
  MDP_CHECK(i >= 0 && i < bound, "{}: index {} is out of range for a dim of size {}", op, i, bound);
  return i;
}

// For each element of index (any layout): f(position in index, element offset in a tensor of shape
// `target` with `strides`, after replacing coordinate `dim` by the index value), and the offset in `src`.
template <class F>
void for_each_indexed(const char* op, const Tensor& index, int64_t dim, const Shape& target, const Shape& tstrides,
                      const Tensor* src, F&& f) {
  Tensor idx = ops::contiguous(index);
  const int64_t* I = static_cast<const int64_t*>(idx.raw_data());
  const Shape& s = idx.shape();
  for (int64_t pos = 0; pos < idx.numel(); ++pos) {
    int64_t rem = pos, toff = 0, soff = 0;
    for (int64_t d = int64_t(s.size()) - 1; d >= 0; --d) {
      int64_t c = rem % s[size_t(d)];
      rem /= s[size_t(d)];
      if (src) soff += c * src->strides()[size_t(d)];
      toff += (d == dim ? checked(op, I[pos], target[size_t(d)]) : c) * tstrides[size_t(d)];
    }
    f(pos, toff, soff);
  }
}
}  // namespace

void CpuBackend::gather(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  dispatch_dtype(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(x.raw_data());
    T* O = static_cast<T*>(out.raw_data());
    for_each_indexed("gather", index, dim, x.shape(), x.strides(), nullptr,
                     [&](int64_t pos, int64_t xoff, int64_t) { O[pos] = X[xoff]; });
  });
}

void CpuBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* S = static_cast<const T*>(src.raw_data());
    T* O = static_cast<T*>(out.raw_data());
    for_each_indexed("scatter_add", index, dim, out.shape(), out.strides(), &src, [&](int64_t, int64_t o, int64_t s) {
      O[o] = cast<T>(cast<acc_t<T>>(O[o]) + cast<acc_t<T>>(S[s]));
    });
  });
}

void CpuBackend::scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* S = static_cast<const T*>(src.raw_data());
    T* O = static_cast<T*>(out.raw_data());
    for_each_indexed("scatter", index, dim, out.shape(), out.strides(), &src,
                     [&](int64_t, int64_t o, int64_t s) { O[o] = S[s]; });
  });
}

void CpuBackend::index_select(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  const int64_t* I = static_cast<const int64_t*>(index.raw_data());
  int64_t n = index.numel();
  for (int64_t j = 0; j < n; ++j) checked("index_select", I[j], x.shape()[size_t(dim)]);
  for (int64_t j = 0; j < n; ++j) ops::copy_(ops::select(out, dim, j), ops::select(x, dim, I[j]));
}

void CpuBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t* I = static_cast<const int64_t*>(index.raw_data());
  for (int64_t j = 0; j < index.numel(); ++j) {
    Tensor o = ops::select(out, dim, checked("index_add", I[j], out.shape()[size_t(dim)]));
    ops::copy_(o, ops::add(o, ops::select(src, dim, j)));
  }
}

void CpuBackend::one_hot(const Tensor& out, const Tensor& labels) {
  int64_t K = out.shape().back(), n = labels.numel();
  const int64_t* L = static_cast<const int64_t*>(labels.raw_data());
  for (int64_t i = 0; i < n; ++i) checked("one_hot", L[i], K);
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    T* O = static_cast<T*>(out.raw_data());  // zero-filled by the caller
    for (int64_t i = 0; i < n; ++i) O[i * K + L[i]] = cast<T>(1.0);
  });
}

void CpuBackend::topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t dim,
                      bool largest) {
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d) if (d != dim) perm.push_back(d);
  perm.push_back(dim);
  Tensor xr = ops::contiguous(ops::permute(x, perm));  // (rows, n)
  Tensor vr = ops::empty(ops::permute(values, perm).shape(), values.dtype());
  Tensor ir = ops::empty(vr.shape(), DType::Int64);
  int64_t n = x.dim() ? x.shape()[size_t(dim)] : 1, rows = x.numel() / std::max<int64_t>(n, 1);
  dispatch_dtype(x.dtype(), [&](auto z) {
    using T = decltype(z);
    const T* X = static_cast<const T*>(xr.raw_data());
    T* V = static_cast<T*>(vr.raw_data());
    int64_t* I = static_cast<int64_t*>(ir.raw_data());
    const bool top = largest;  // a local: clang 14 cannot capture the enclosing function's parameter in the region
#pragma omp parallel
    {
      std::vector<int64_t> order(static_cast<size_t>(n));
#pragma omp for
      for (int64_t r = 0; r < rows; ++r) {
        const T* p = X + r * n;
        std::iota(order.begin(), order.end(), 0);
        auto before = [&](int64_t a, int64_t b) {
          double va = cast<double>(p[a]), vb = cast<double>(p[b]);
          return top ? (va > vb || (va == vb && a < b)) : (va < vb || (va == vb && a < b));
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          V[r * k + j] = p[order[size_t(j)]];
          I[r * k + j] = order[size_t(j)];
        }
      }
    }
  });
  ops::copy_(ops::permute(values, perm), vr);
  ops::copy_(ops::permute(indices, perm), ir);
}

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace mdp
