// kernels.cuh: what the .cu files share. The device bfloat16 type (the same bits and rounding as
// mdp::bf16), cast<> and acc_t<> as in tensor/cpu/loops.h (arithmetic in float for bf16 and float, in
// double for double and the integers), run-time dtype dispatch, an Indexer that turns a flat element
// number into per-operand offsets for up to 8 (coalesced) dims of any strides, grid-stride launches and
// a block-wide reduction. Host code here throws through throw_error (no fmt in nvcc's front end).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "runtime.h"
#include "../tensor/ops.h"
#include "../tensor/tensor.h"

namespace mdp::cuda {

// ---------------------------------------------------------------- element types
struct bf16d {
  uint16_t bits;
  // dtype.h's bf16(float): round to nearest even, NaN stays a quiet NaN.
  __device__ static bf16d from_float(float f) {
    uint32_t u = __float_as_uint(f);
    bf16d r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      r.bits = uint16_t((u >> 16) | 0x40);
      return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    r.bits = uint16_t(u >> 16);
    return r;
  }
  __device__ float to_float() const { return __uint_as_float(uint32_t(bits) << 16); }
};

template <class To, class From>
__device__ __forceinline__ To cast(From v) {
  if constexpr (std::is_same_v<To, From>) return v;
  else if constexpr (std::is_same_v<From, bf16d>) return cast<To>(v.to_float());
  else if constexpr (std::is_same_v<To, bf16d>) return bf16d::from_float(float(v));
  else return To(v);
}

template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, bf16d> || std::is_same_v<T, float>, float, double>;

// ---------------------------------------------------------------- dtype dispatch (host)
[[noreturn]] inline void unsupported(const char* op, DType t) {
  throw_error(std::string(op) + ": dtype " + dtype_name(t) + " is not supported by the cuda backend");
}

template <class F>
void dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::BFloat16: return f(bf16d{});
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
  }
}

template <class F>
void dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::BFloat16: return f(bf16d{});
    default: unsupported(op, t);
  }
}

// Ops that only move elements dispatch on the element size.
template <class F>
void dispatch_bytes(DType t, F&& f) {
  switch (dtype_size(t)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

// The dtype of an accumulator tensor for T: float32 for float and bf16, float64 for double.
inline DType acc_dtype(DType t) { return t == DType::Float64 ? DType::Float64 : DType::Float32; }

// ---------------------------------------------------------------- strided indexing
constexpr int kMaxDims = 8;

template <int NT>
struct Indexer {
  int ndim = 0;
  int64_t size[kMaxDims];
  int64_t stride[NT][kMaxDims];  // in elements

  // Offsets of element i (row-major over the shape) in each of the NT operands.
  __device__ void offsets(int64_t i, int64_t (&off)[NT]) const {
    if (ndim == 1) {  // the common case after merging: no division
      for (int t = 0; t < NT; ++t) off[t] = i * stride[t][0];
      return;
    }
    for (int t = 0; t < NT; ++t) off[t] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t c = i % size[d];
      i /= size[d];
      for (int t = 0; t < NT; ++t) off[t] += c * stride[t][d];
    }
  }
};

// Drops size-1 dims and merges neighbouring dims that are contiguous for every operand (as
// tensor/cpu/loops.h does); throws when more than kMaxDims remain.
template <int NT>
Indexer<NT> make_indexer(const Shape& shape, const std::array<Shape, NT>& strides) {
  Indexer<NT> ix;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (ix.ndim > 0) {
      bool merge = true;
      for (int t = 0; t < NT; ++t) merge &= ix.stride[t][ix.ndim - 1] == strides[t][d] * shape[d];
      if (merge) {
        ix.size[ix.ndim - 1] *= shape[d];
        for (int t = 0; t < NT; ++t) ix.stride[t][ix.ndim - 1] = strides[t][d];
        continue;
      }
    }
    if (ix.ndim == kMaxDims)
      throw_error("cuda backend: shape " + shape_str(shape) + " has more than 8 dims that cannot be merged");
    ix.size[ix.ndim] = shape[d];
    for (int t = 0; t < NT; ++t) ix.stride[t][ix.ndim] = strides[t][d];
    ix.ndim++;
  }
  return ix;
}

template <int NT>
Indexer<NT> make_indexer(const Shape& shape, const std::array<const Tensor*, NT>& ts) {
  std::array<Shape, NT> st;
  for (int t = 0; t < NT; ++t) st[t] = ts[t]->strides();
  return make_indexer<NT>(shape, st);
}

// ---------------------------------------------------------------- launches
constexpr int kThreads = 256;

#define MDP_CUDA_LOOP(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// kernel<<<blocks, kThreads>>> on the context's stream; blocks 0 launches nothing.
template <class... KArgs, class... Args>
void launch_blocks(Context& c, int64_t blocks, void (*kernel)(KArgs...), Args&&... args) {
  if (blocks <= 0) return;
  kernel<<<unsigned(std::min<int64_t>(blocks, int64_t(1) << 30)), kThreads, 0, c.stream>>>(std::forward<Args>(args)...);
  MDP_CUDA_CHECK(cudaGetLastError());
}

// Enough blocks for n elements of a grid-stride loop (MDP_CUDA_LOOP).
template <class... KArgs, class... Args>
void launch(Context& c, int64_t n, void (*kernel)(KArgs...), Args&&... args) {
  launch_blocks(c, std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t(1) << 16), kernel,
                std::forward<Args>(args)...);
}

// Combines v over the block (blockDim.x == kThreads) with an associative op; every thread gets it.
template <class Op>
__device__ double block_reduce(double v, Op op) {
  __shared__ double s[kThreads];
  s[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) s[threadIdx.x] = op(s[threadIdx.x], s[threadIdx.x + w]);
    __syncthreads();
  }
  double r = s[0];
  __syncthreads();  // s is reused by the next call
  return r;
}

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// Scatter-style kernels (backward passes) accumulate with atomicAdd, which exists for float and double:
// a bfloat16 result (out += ...) is accumulated in a float32 copy and copied back afterwards.
inline Tensor accumulator_for(const Tensor& out) {
  return out.dtype() == DType::BFloat16 ? ops::to(out, DType::Float32) : out;
}
inline void finish_accumulation(const Tensor& out, const Tensor& acc) {
  if (!acc.same(out)) ops::copy_(out, acc);
}

// Kernels that meet a bad index lower the context's error slot to the smallest offending position.
__device__ inline void report_error(unsigned long long* slot, int64_t pos) {
  atomicMin(slot, static_cast<unsigned long long>(pos));
}

}  // namespace mdp::cuda
