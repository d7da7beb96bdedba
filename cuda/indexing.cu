// indexing.cu (cuda): gather, scatter, scatter_add, index_select, index_add, one_hot and topk.
// The first five are one kernel: walk a shape, and for each element read an int64 index value v, check
// it against the bound of the indexed dim, and move one element between a "plain" tensor (walked
// directly) and a "replaced" tensor whose coordinate along dim is v: read (gather, index_select), write
// (scatter) or atomicAdd (scatter_add, index_add; float32 accumulation for bf16). Bad indices are
// recorded in the device's error slot and reported, after one synchronisation, with the reference's
// message. With duplicate indices scatter keeps an arbitrary one of the written values (the CPU keeps
// the last). topk ranks every element of a row against the others (O(n^2) per row: fine for class
// scores, slow for very long rows), ties broken by index as the reference's stable sort.
#include <cstring>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

enum class Mode { Read, Write, Add };

// o[0]: offset in plain, o[1]: offset in replaced with the indexed dim left out, o[2]: offset in index.
template <class P, class R, Mode M>
__global__ void index_kernel(int64_t n, Indexer<3> ix, P* plain, R* replaced, const int64_t* index, int64_t dim_stride,
                             int64_t bound, unsigned long long* error) {
  MDP_CUDA_LOOP(i, n) {
    int64_t o[3];
    ix.offsets(i, o);
    int64_t v = index[o[2]];
    if (v < 0 || v >= bound) {
      report_error(error, i);
      continue;
    }
    R* r = replaced + o[1] + v * dim_stride;
    if constexpr (M == Mode::Read) plain[o[0]] = *r;
    else if constexpr (M == Mode::Write) *r = plain[o[0]];
    else atomicAdd(r, cast<R>(plain[o[0]]));
  }
}

// Reads the index value at position pos (row-major over shape) and throws the reference's message.
[[noreturn]] void throw_bad_index(const char* op, Context& c, const Tensor& index, const Shape& shape,
                                  const Shape& index_strides, int64_t pos, int64_t bound) {
  int64_t off = 0;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    off += (pos % shape[size_t(d)]) * index_strides[size_t(d)];
    pos /= shape[size_t(d)];
  }
  int64_t v = 0;
  c.to_host(&v, static_cast<const int64_t*>(index.raw_data()) + off, sizeof v);
  throw_error(std::string(op) + ": index " + std::to_string(v) + " is out of range for a dim of size " +
              std::to_string(bound));
}

// Walks `shape`; `per_dim`: index is 1-D and its element is picked by the coordinate along dim
// (index_select, index_add), otherwise index has `shape` (gather, scatter, scatter_add).
void run_index(const char* op, Mode mode, const Shape& shape, int64_t dim, const Tensor& plain,
               const Tensor& replaced, const Tensor& index, bool per_dim) {
  Shape rs = replaced.strides();
  rs[size_t(dim)] = 0;
  Shape is = per_dim ? Shape(shape.size(), 0) : index.strides();
  if (per_dim) is[size_t(dim)] = index.stride(0);
  auto ix = make_indexer<3>(shape, {plain.strides(), rs, is});
  int64_t n = shape_numel(shape), dim_stride = replaced.stride(dim), bound = replaced.size(dim);
  const int64_t* I = static_cast<const int64_t*>(index.raw_data());
  Context& c = context(replaced);
  unsigned long long* error = c.reset_error();
  if (mode == Mode::Add) {
    dispatch_floating(plain.dtype(), op, [&](auto z) {
      using T = decltype(z);
      using A = acc_t<T>;
      launch(c, n, index_kernel<T, A, Mode::Add>, n, ix, static_cast<T*>(plain.raw_data()),
             static_cast<A*>(replaced.raw_data()), I, dim_stride, bound, error);
    });
  } else {
    dispatch_bytes(plain.dtype(), [&](auto z) {
      using U = decltype(z);
      U* p = static_cast<U*>(plain.raw_data());
      U* r = static_cast<U*>(replaced.raw_data());
      if (mode == Mode::Read) launch(c, n, index_kernel<U, U, Mode::Read>, n, ix, p, r, I, dim_stride, bound, error);
      else launch(c, n, index_kernel<U, U, Mode::Write>, n, ix, p, r, I, dim_stride, bound, error);
    });
  }
  int64_t bad = c.first_error();
  if (bad >= 0) throw_bad_index(op, c, index, shape, is, bad, bound);
}

template <class U>
__global__ void one_hot_kernel(int64_t n, int64_t K, const int64_t* labels, U* out, U one, unsigned long long* error) {
  MDP_CUDA_LOOP(i, n) {
    int64_t v = labels[i];
    if (v < 0 || v >= K) {
      report_error(error, i);
      continue;
    }
    out[i * K + v] = one;
  }
}

// Strict total order of (value, position) for topk: by value (NaN beyond every number), then position.
template <class A>
__device__ bool before(A u, int64_t j, A v, int64_t i, bool largest) {
  bool un = isnan(u), vn = isnan(v);
  bool ahead = largest ? (un && !vn) || (!vn && u > v) : (!un && vn) || (!un && u < v);
  bool same = (un && vn) || (!un && !vn && u == v);
  return ahead || (same && j < i);
}

// Element i of row r goes to slot rank(i) = the number of row elements ordered before it.
template <class T>
__global__ void topk_kernel(int64_t rows, int64_t n, int64_t k, bool largest, const T* x, T* values, int64_t* indices) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(e, rows * n) {
    int64_t r = e / n, i = e % n;
    const T* p = x + r * n;
    A v = cast<A>(p[i]);
    int64_t rank = 0;
    for (int64_t j = 0; j < n && rank < k; ++j) rank += before(cast<A>(p[j]), j, v, i, largest);
    if (rank < k) {
      values[r * k + rank] = p[i];
      indices[r * k + rank] = i;
    }
  }
}

}  // namespace

void CudaBackend::gather(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  run_index("gather", Mode::Read, index.shape(), dim, out, x, index, false);
}

void CudaBackend::scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  run_index("scatter", Mode::Write, index.shape(), dim, src, out, index, false);
}

void CudaBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor acc = accumulator_for(out);
  run_index("scatter_add", Mode::Add, index.shape(), dim, src, acc, index, false);
  finish_accumulation(out, acc);
}

void CudaBackend::index_select(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) {
  run_index("index_select", Mode::Read, out.shape(), dim, out, x, index, true);
}

void CudaBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor acc = accumulator_for(out);
  run_index("index_add", Mode::Add, src.shape(), dim, src, acc, index, true);
  finish_accumulation(out, acc);
}

void CudaBackend::one_hot(const Tensor& out, const Tensor& labels) {
  int64_t K = out.shape().back(), n = labels.numel();
  uint64_t bits = 0;  // the element 1 of out's dtype, converted on the host as fill does
  mdp::dispatch_dtype(out.dtype(), [&](auto z) {
    auto v = decltype(z)(1.0);
    std::memcpy(&bits, &v, sizeof v);
  });
  Context& c = context(out);
  unsigned long long* error = c.reset_error();
  dispatch_bytes(out.dtype(), [&](auto z) {
    using U = decltype(z);
    U one;
    std::memcpy(&one, &bits, sizeof one);
    launch(c, n, one_hot_kernel<U>, n, K, static_cast<const int64_t*>(labels.raw_data()),
           static_cast<U*>(out.raw_data()), one, error);  // out is zero-filled and contiguous, labels contiguous
  });
  int64_t bad = c.first_error();
  if (bad >= 0) throw_bad_index("one_hot", c, labels, {n}, {1}, bad, K);
}

void CudaBackend::topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t dim,
                       bool largest) {
  // As the CPU backend: rows along dim made contiguous, results written (rows, k) and permuted back.
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != dim) perm.push_back(d);
  if (x.dim()) perm.push_back(dim);
  Tensor xr = ops::contiguous(ops::permute(x, perm));
  Tensor vr = ops::empty(ops::permute(values, perm).shape(), values.dtype(), x.device());
  Tensor ir = ops::empty(vr.shape(), DType::Int64, x.device());
  int64_t n = x.dim() ? x.shape()[size_t(dim)] : 1, rows = x.numel() / std::max<int64_t>(n, 1);
  dispatch_all(x.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(x), rows * n, topk_kernel<T>, rows, n, k, largest, static_cast<const T*>(xr.raw_data()),
           static_cast<T*>(vr.raw_data()), static_cast<int64_t*>(ir.raw_data()));
  });
  ops::copy_(ops::permute(values, perm), vr);
  ops::copy_(ops::permute(indices, perm), ir);
}

}  // namespace mdp::cuda
