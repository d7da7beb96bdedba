// elementwise.cu (cuda): copies (dtype conversion, host<->device through the pinned staging buffers,
// between devices), fill, arithmetic, comparisons, where, axpby and the fused SGD/AdamW updates. One
// grid-stride kernel per op and element type over any strides (Indexer); the op itself is a run-time
// argument, so each op costs one instantiation per dtype. Formulas are those of tensor/cpu/elementwise.cpp
// (arithmetic in acc_t: float for float/bf16, double for double and integers).
#include <cmath>
#include <cstring>

#include "cuda/cuda_backend.h"
#include "cuda/kernels.cuh"

namespace mdp::cuda {
namespace {

// ---------------------------------------------------------------- kernels
template <class TS>
__global__ void copy_kernel(int64_t n, Indexer<2> ix, void* dst, DType dt, const TS* src) {
  MDP_CUDA_LOOP(i, n) {
    int64_t o[2];
    ix.offsets(i, o);
    TS v = src[o[1]];
    switch (dt) {
      case DType::Float32: static_cast<float*>(dst)[o[0]] = cast<float>(v); break;
      case DType::Float64: static_cast<double*>(dst)[o[0]] = cast<double>(v); break;
      case DType::BFloat16: static_cast<bf16d*>(dst)[o[0]] = cast<bf16d>(v); break;
      case DType::Int64: static_cast<int64_t*>(dst)[o[0]] = cast<int64_t>(v); break;
      case DType::Int32: static_cast<int32_t*>(dst)[o[0]] = cast<int32_t>(v); break;
      case DType::UInt8: static_cast<uint8_t*>(dst)[o[0]] = cast<uint8_t>(v); break;
      case DType::Bool: static_cast<bool*>(dst)[o[0]] = cast<bool>(v); break;
    }
  }
}

template <class U>
__global__ void fill_kernel(int64_t n, Indexer<1> ix, U* p, U bits) {
  MDP_CUDA_LOOP(i, n) {
    int64_t o[1];
    ix.offsets(i, o);
    p[o[0]] = bits;
  }
}

// tensor/reference/elementwise.cpp apply_binary / apply_unary, in A.
template <class A>
__device__ A binary_op(ops::BinaryOp op, A a, A b) {
  switch (op) {
    case ops::BinaryOp::Add: return a + b;
    case ops::BinaryOp::Sub: return a - b;
    case ops::BinaryOp::Mul: return a * b;
    case ops::BinaryOp::Div: return a / b;
    case ops::BinaryOp::Max: return isnan(a) || a > b ? a : b;  // NaN propagates, as torch.maximum
    case ops::BinaryOp::Min: return isnan(a) || a < b ? a : b;
    case ops::BinaryOp::Pow: return A(pow(a, b));
    case ops::BinaryOp::ReluGrad: return b > A(0) ? a : A(0);
  }
  return a;
}

template <class A>
__device__ A unary_op(ops::UnaryOp op, A x) {
  switch (op) {
    case ops::UnaryOp::Neg: return -x;
    case ops::UnaryOp::Exp: return exp(x);
    case ops::UnaryOp::Log: return log(x);
    case ops::UnaryOp::Sqrt: return sqrt(x);
    case ops::UnaryOp::Rsqrt: return A(1) / sqrt(x);
    case ops::UnaryOp::Abs: return fabs(x);
    case ops::UnaryOp::Sigmoid: return A(1) / (A(1) + exp(-x));
    case ops::UnaryOp::Tanh: return tanh(x);
    case ops::UnaryOp::Relu: return x <= A(0) ? A(0) : x;  // NaN stays NaN
    case ops::UnaryOp::Square: return x * x;
    case ops::UnaryOp::Sign: return A((x > A(0)) - (x < A(0)));
  }
  return x;
}

// out = a op b, or a op scalar when b is null (binary_scalar: the scalar is not rounded to T first).
template <class T>
__global__ void binary_kernel(ops::BinaryOp op, int64_t n, Indexer<3> ix, T* out, const T* a, const T* b,
                              acc_t<T> scalar) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    int64_t o[3];
    ix.offsets(i, o);
    A y = b ? cast<A>(b[o[2]]) : scalar;
    out[o[0]] = cast<T>(binary_op<A>(op, cast<A>(a[o[1]]), y));
  }
}

template <class T>
__global__ void unary_kernel(ops::UnaryOp op, int64_t n, Indexer<2> ix, T* out, const T* x) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    int64_t o[2];
    ix.offsets(i, o);
    out[o[0]] = cast<T>(unary_op<A>(op, cast<A>(x[o[1]])));
  }
}

template <class T>
__global__ void compare_kernel(ops::CompareOp op, int64_t n, Indexer<3> ix, bool* out, const T* a, const T* b) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    int64_t o[3];
    ix.offsets(i, o);
    A u = cast<A>(a[o[1]]), v = cast<A>(b[o[2]]);
    bool r = false;
    switch (op) {
      case ops::CompareOp::Eq: r = u == v; break;
      case ops::CompareOp::Ne: r = u != v; break;
      case ops::CompareOp::Lt: r = u < v; break;
      case ops::CompareOp::Le: r = u <= v; break;
      case ops::CompareOp::Gt: r = u > v; break;
      case ops::CompareOp::Ge: r = u >= v; break;
    }
    out[o[0]] = r;
  }
}

template <class U>
__global__ void where_kernel(int64_t n, Indexer<4> ix, U* out, const bool* cond, const U* a, const U* b) {
  MDP_CUDA_LOOP(i, n) {
    int64_t o[4];
    ix.offsets(i, o);
    out[o[0]] = cond[o[1]] ? a[o[2]] : b[o[3]];
  }
}

template <class T>
__global__ void axpby_kernel(int64_t n, Indexer<2> ix, T* y, const T* x, acc_t<T> a, acc_t<T> b) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    int64_t o[2];
    ix.offsets(i, o);
    y[o[0]] = cast<T>(a * cast<A>(x[o[1]]) + b * cast<A>(y[o[0]]));
  }
}

// tensor/cpu/elementwise.cpp sgd_update, one thread per element; B is null when momentum is 0.
template <class T>
__global__ void sgd_kernel(int64_t n, T* P, const T* G, T* B, acc_t<T> lr, acc_t<T> mom, acc_t<T> damp,
                           acc_t<T> wd, bool first_step, bool nesterov) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    A p = cast<A>(P[i]), d = cast<A>(G[i]) + wd * p;
    if (B) {
      A b = first_step ? d : mom * cast<A>(B[i]) + damp * d;
      B[i] = cast<T>(b);
      d = nesterov ? d + mom * b : b;
    }
    P[i] = cast<T>(p - lr * d);
  }
}

// tensor/cpu/elementwise.cpp adamw_update.
template <class T>
__global__ void adamw_kernel(int64_t n, T* P, const T* G, T* M, T* V, acc_t<T> decay, acc_t<T> b1, acc_t<T> b2,
                             acc_t<T> step, acc_t<T> rbc2, acc_t<T> eps) {
  using A = acc_t<T>;
  MDP_CUDA_LOOP(i, n) {
    A g = cast<A>(G[i]);
    A mi = b1 * cast<A>(M[i]) + (1 - b1) * g, vi = b2 * cast<A>(V[i]) + (1 - b2) * g * g;
    M[i] = cast<T>(mi);
    V[i] = cast<T>(vi);
    P[i] = cast<T>(cast<A>(P[i]) * decay - step * mi / (sqrt(vi) * rbc2 + eps));
  }
}

template <class T> T* ptr(const Tensor& t) { return static_cast<T*>(t.raw_data()); }

}  // namespace

// ---------------------------------------------------------------- backend methods
void CudaBackend::copy(const Tensor& dst, const Tensor& src) {
  size_t nbytes = size_t(dst.numel()) * dst.element_size();
  if (dst.device() != src.device()) {
    // ops::copy_ hands over contiguous tensors of one dtype between devices.
    if (dst.dtype() != src.dtype() || !dst.is_contiguous() || !src.is_contiguous())
      throw_error("copy: between devices the cuda backend needs contiguous tensors of one dtype");
    if (dst.device().is_cpu()) return context(src).to_host(dst.raw_data(), src.raw_data(), nbytes);
    if (src.device().is_cpu()) return context(dst).to_device(dst.raw_data(), src.raw_data(), nbytes);
    // Between two GPUs: rare, so simply synchronous on both sides.
    Context& cs = context(src);
    MDP_CUDA_CHECK(cudaStreamSynchronize(context(dst).stream));
    MDP_CUDA_CHECK(cudaMemcpyPeerAsync(dst.raw_data(), dst.device().index, src.raw_data(), src.device().index, nbytes,
                                       cs.stream));
    MDP_CUDA_CHECK(cudaStreamSynchronize(cs.stream));
    return;
  }
  Context& c = context(dst);
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    MDP_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), nbytes, cudaMemcpyDeviceToDevice, c.stream));
    return;
  }
  auto ix = make_indexer<2>(dst.shape(), {&dst, &src});
  dispatch_all(src.dtype(), [&](auto z) {
    using TS = decltype(z);
    launch(c, dst.numel(), copy_kernel<TS>, dst.numel(), ix, dst.raw_data(), dst.dtype(), ptr<const TS>(src));
  });
}

void CudaBackend::fill(const Tensor& t, double value) {
  // The element's bits, converted on the host exactly as the CPU backend converts (dtype.h).
  uint64_t bits = 0;
  mdp::dispatch_dtype(t.dtype(), [&](auto z) {
    auto v = decltype(z)(value);
    std::memcpy(&bits, &v, sizeof v);
  });
  auto ix = make_indexer<1>(t.shape(), {&t});
  dispatch_bytes(t.dtype(), [&](auto z) {
    using U = decltype(z);
    U u;
    std::memcpy(&u, &bits, sizeof u);
    launch(context(t), t.numel(), fill_kernel<U>, t.numel(), ix, ptr<U>(t), u);
  });
}

void CudaBackend::binary(ops::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  auto ix = make_indexer<3>(out.shape(), {&out, &a, &b});
  dispatch_all(out.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(out), out.numel(), binary_kernel<T>, op, out.numel(), ix, ptr<T>(out), ptr<const T>(a),
           ptr<const T>(b), acc_t<T>(0));
  });
}

void CudaBackend::binary_scalar(ops::BinaryOp op, const Tensor& out, const Tensor& a, double b) {
  auto ix = make_indexer<3>(out.shape(), {out.strides(), a.strides(), Shape(size_t(out.dim()), 0)});
  dispatch_all(out.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(out), out.numel(), binary_kernel<T>, op, out.numel(), ix, ptr<T>(out), ptr<const T>(a),
           static_cast<const T*>(nullptr), acc_t<T>(b));
  });
}

void CudaBackend::unary(ops::UnaryOp op, const Tensor& out, const Tensor& x) {
  auto ix = make_indexer<2>(out.shape(), {&out, &x});
  dispatch_all(out.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(out), out.numel(), unary_kernel<T>, op, out.numel(), ix, ptr<T>(out), ptr<const T>(x));
  });
}

void CudaBackend::compare(ops::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  auto ix = make_indexer<3>(out.shape(), {&out, &a, &b});
  dispatch_all(a.dtype(), [&](auto z) {
    using T = decltype(z);
    launch(context(out), out.numel(), compare_kernel<T>, op, out.numel(), ix, ptr<bool>(out), ptr<const T>(a),
           ptr<const T>(b));
  });
}

void CudaBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  auto ix = make_indexer<4>(out.shape(), {&out, &cond, &a, &b});
  dispatch_bytes(out.dtype(), [&](auto z) {
    using U = decltype(z);
    launch(context(out), out.numel(), where_kernel<U>, out.numel(), ix, ptr<U>(out), ptr<const bool>(cond),
           ptr<const U>(a), ptr<const U>(b));
  });
}

void CudaBackend::axpby(const Tensor& y, double a, const Tensor& x, double b) {
  auto ix = make_indexer<2>(y.shape(), {&y, &x});
  dispatch_floating(y.dtype(), "axpby", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    launch(context(y), y.numel(), axpby_kernel<T>, y.numel(), ix, ptr<T>(y), ptr<const T>(x), A(a), A(b));
  });
}

void CudaBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const ops::SgdArgs& a) {
  dispatch_floating(param.dtype(), "sgd_update", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    T* B = a.momentum != 0 ? ptr<T>(buf) : nullptr;
    launch(context(param), param.numel(), sgd_kernel<T>, param.numel(), ptr<T>(param), ptr<const T>(grad), B,
           A(a.lr), A(a.momentum), A(1 - a.dampening), A(a.weight_decay), a.first_step, a.nesterov);
  });
}

void CudaBackend::adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                               const ops::AdamWArgs& a) {
  dispatch_floating(param.dtype(), "adamw_update", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    const double bc1 = 1 - std::pow(a.beta1, double(a.step)), bc2 = 1 - std::pow(a.beta2, double(a.step));
    launch(context(param), param.numel(), adamw_kernel<T>, param.numel(), ptr<T>(param), ptr<const T>(grad), ptr<T>(m),
           ptr<T>(v), A(1 - a.lr * a.weight_decay), A(a.beta1), A(a.beta2), A(a.lr / bc1), A(1 / std::sqrt(bc2)),
           A(a.eps));
  });
}

}  // namespace mdp::cuda
