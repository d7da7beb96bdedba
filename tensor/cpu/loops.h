// loops.h: the CPU backend's elementwise iteration. Dims that are contiguous for every operand are
// merged, the last remaining dim becomes an inner loop with per-operand strides, and the outer rows are
// split over OpenMP threads when there is enough work. Also the float/bf16 arithmetic type helpers.
#pragma once
#include <array>
#include <type_traits>

#include "../tensor.h"

namespace mdp::cpu {

// The type arithmetic is done in: float for bf16, double for integers, the type itself otherwise.
template <class T> using acc_t = std::conditional_t<std::is_same_v<T, bf16>, float,
                                 std::conditional_t<std::is_floating_point_v<T>, T, double>>;

template <class To, class From> inline To cast(From v) {
  if constexpr (std::is_same_v<To, bf16>) return bf16(float(v));
  else if constexpr (std::is_same_v<From, bf16>) return To(float(v));
  else return To(v);
}

// Calls f(n, ptrs, byte_strides) for runs of n elements; ptrs[i] points at operand i's first element.
template <size_t NT, class F>
void for_each_run(const Shape& shape, const std::array<const Tensor*, NT>& ts, F&& f) {
  // coalesce dims
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, NT>> strides;  // bytes
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<int64_t, NT> st;
    for (size_t t = 0; t < NT; ++t) st[t] = ts[t]->strides()[d] * int64_t(ts[t]->element_size());
    if (!sizes.empty()) {
      bool merge = true;
      for (size_t t = 0; t < NT; ++t) merge &= strides.back()[t] == st[t] * shape[d];
      if (merge) {
        sizes.back() *= shape[d];
        strides.back() = st;
        continue;
      }
    }
    sizes.push_back(shape[d]);
    strides.push_back(st);
  }
  std::array<char*, NT> base;
  for (size_t t = 0; t < NT; ++t) base[t] = static_cast<char*>(ts[t]->raw_data());
  if (sizes.empty()) {  // a single element
    f(int64_t(1), base, std::array<int64_t, NT>{});
    return;
  }
  int64_t inner = sizes.back();
  auto inner_st = strides.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < sizes.size(); ++d) rows *= sizes[d];
  // A single long run: split it into chunks so threads share it.
  if (rows == 1) {
    const int64_t chunk = 16384;
    int64_t nchunks = (inner + chunk - 1) / chunk;
#pragma omp parallel for if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; ++c) {
      std::array<char*, NT> p;
      for (size_t t = 0; t < NT; ++t) p[t] = base[t] + c * chunk * inner_st[t];
      f(std::min(chunk, inner - c * chunk), p, inner_st);
    }
    return;
  }
#pragma omp parallel for if (rows * inner > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    std::array<char*, NT> p = base;
    int64_t rem = r;
    for (int64_t d = int64_t(sizes.size()) - 2; d >= 0; --d) {
      int64_t i = rem % sizes[size_t(d)];
      rem /= sizes[size_t(d)];
      for (size_t t = 0; t < NT; ++t) p[t] += i * strides[size_t(d)][t];
    }
    f(inner, p, inner_st);
  }
}

// Element i of a run.
template <class T> inline T& at(char* p, int64_t stride, int64_t i) { return *reinterpret_cast<T*>(p + i * stride); }

}  // namespace mdp::cpu

namespace mdp::cpu {
// dispatch_dtype restricted to the floating types the nn kernels handle.
template <class F>
void dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::BFloat16: f(bf16{}); return;
    default: throw std::invalid_argument(std::string(op) + ": needs a floating tensor");
  }
}
}  // namespace mdp::cpu
