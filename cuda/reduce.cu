// reduce.cu (cuda): sum, mean, max, min over the dims where out has size 1, and max/min with index
// along one dim. As the CPU backend, x is first permuted so that the reduced dims come last and made
// contiguous; then reduce runs one block per output element, accumulating in double (NaN propagates
// through max/min), and arg_reduce one thread per output element, scanning as the reference does.
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

// reference reduce.cpp: a = (isnan(v) || v > a) ? v : a, combined across threads in any order.
struct MaxOp {
  __device__ double operator()(double a, double b) const { return isnan(a) ? a : (isnan(b) || b > a) ? b : a; }
};
struct MinOp {
  __device__ double operator()(double a, double b) const { return isnan(a) ? a : (isnan(b) || b < a) ? b : a; }
};

template <class T>
__global__ void reduce_kernel(ops::ReduceOp op, int64_t rows, int64_t len, const T* x, T* out) {
  const bool is_max = op == ops::ReduceOp::Max, is_min = op == ops::ReduceOp::Min;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* s = x + r * len;
    double acc = is_max ? -INFINITY : is_min ? INFINITY : 0.0;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
      double v = cast<double>(s[i]);
      if (is_max) acc = (isnan(v) || v > acc) ? v : acc;
      else if (is_min) acc = (isnan(v) || v < acc) ? v : acc;
      else acc += v;
    }
    acc = is_max ? block_reduce(acc, MaxOp{}) : is_min ? block_reduce(acc, MinOp{}) : block_reduce(acc, SumOp{});
    if (threadIdx.x == 0) out[r] = cast<T>(op == ops::ReduceOp::Mean ? acc / double(len) : acc);
  }
}

// reference reduce.cpp arg_reduce: the first extreme element; a NaN is the extreme and ends the scan.
template <class T>
__global__ void arg_reduce_kernel(bool is_max, int64_t rows, int64_t len, const T* x, T* values, int64_t* indices) {
  MDP_CUDA_LOOP(r, rows) {
    const T* s = x + r * len;
    double best = cast<double>(s[0]);
    int64_t bi = 0;
    for (int64_t i = 1; i < len && !isnan(best); ++i) {
      double v = cast<double>(s[i]);
      if (isnan(v) || (is_max ? v > best : v < best)) {
        best = v;
        bi = i;
      }
    }
    values[r] = s[bi];
    indices[r] = bi;
  }
}

// x as a contiguous block with the dims in `last` moved to the end, keeping the order of the rest.
Tensor move_last(const Tensor& x, const std::vector<bool>& last) {
  std::vector<int64_t> perm, tail;
  for (int64_t d = 0; d < x.dim(); ++d) (last[size_t(d)] ? tail : perm).push_back(d);
  perm.insert(perm.end(), tail.begin(), tail.end());
  return ops::contiguous(ops::permute(x, perm));
}

}  // namespace

void CudaBackend::reduce(ops::ReduceOp op, const Tensor& out, const Tensor& x) {
  std::vector<bool> reduced(size_t(x.dim()));
  for (int64_t d = 0; d < x.dim(); ++d) reduced[size_t(d)] = out.shape()[size_t(d)] == 1 && x.shape()[size_t(d)] != 1;
  Tensor p = move_last(x, reduced);
  int64_t rows = out.numel(), len = x.numel() / std::max<int64_t>(rows, 1);
  dispatch_all(x.dtype(), [&](auto z) {
    using T = decltype(z);
    launch_blocks(context(x), rows, reduce_kernel<T>, op, rows, len, static_cast<const T*>(p.raw_data()),
                  static_cast<T*>(out.raw_data()));  // out is freshly allocated and contiguous
  });
}

void CudaBackend::arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t dim) {
  std::vector<bool> last(size_t(x.dim()), false);
  last[size_t(dim)] = true;
  Tensor p = move_last(x, last);
  int64_t rows = values.numel(), len = x.shape()[size_t(dim)];
  dispatch_all(x.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(x), rows, arg_reduce_kernel<T>, is_max, rows, len, static_cast<const T*>(p.raw_data()),
           static_cast<T*>(values.raw_data()), static_cast<int64_t*>(indices.raw_data()));
  });
}

}  // namespace mdp::cuda
