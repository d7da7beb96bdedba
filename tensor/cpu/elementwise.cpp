// elementwise.cpp (cpu): copy with dtype conversion, fill, arithmetic, comparisons, where and axpby as
// typed loops over coalesced runs (loops.h); contiguous runs are plain pointer loops the compiler
// vectorises.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/error.h"

namespace mdp {
using namespace cpu;
namespace {

// out[i] = g(a[i]) over one run.
template <class TO, class TA, class G>
void map1(int64_t n, char* o, char* a, const std::array<int64_t, 2>& s, G&& g) {
  if (s[0] == sizeof(TO) && s[1] == sizeof(TA)) {
    TO* O = reinterpret_cast<TO*>(o);
    const TA* A = reinterpret_cast<const TA*>(a);
    for (int64_t i = 0; i < n; ++i) O[i] = g(A[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) at<TO>(o, s[0], i) = g(at<TA>(a, s[1], i));
  }
}

// out[i] = g(a[i], b[i]) over one run.
template <class TO, class TA, class TB, class G>
void map2(int64_t n, const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, G&& g) {
  if (s[0] == sizeof(TO) && s[1] == sizeof(TA) && s[2] == sizeof(TB)) {
    TO* O = reinterpret_cast<TO*>(p[0]);
    const TA* A = reinterpret_cast<const TA*>(p[1]);
    const TB* B = reinterpret_cast<const TB*>(p[2]);
    for (int64_t i = 0; i < n; ++i) O[i] = g(A[i], B[i]);
  } else if (s[0] == sizeof(TO) && s[1] == sizeof(TA) && s[2] == 0) {
    TO* O = reinterpret_cast<TO*>(p[0]);
    const TA* A = reinterpret_cast<const TA*>(p[1]);
    const TB b = *reinterpret_cast<const TB*>(p[2]);
    for (int64_t i = 0; i < n; ++i) O[i] = g(A[i], b);
  } else {
    for (int64_t i = 0; i < n; ++i) at<TO>(p[0], s[0], i) = g(at<TA>(p[1], s[1], i), at<TB>(p[2], s[2], i));
  }
}

template <class A> inline A binary_op(ops::BinaryOp op, A a, A b) {
  switch (op) {
    case ops::BinaryOp::Add: return a + b;
    case ops::BinaryOp::Sub: return a - b;
    case ops::BinaryOp::Mul: return a * b;
    case ops::BinaryOp::Div: return a / b;
    case ops::BinaryOp::Max: return std::isnan(a) || a > b ? a : b;
    case ops::BinaryOp::Min: return std::isnan(a) || a < b ? a : b;
    case ops::BinaryOp::Pow: return std::pow(a, b);
    case ops::BinaryOp::ReluGrad: return b > A(0) ? a : A(0);
  }
  return a;
}

// Runs g as a lambda specialised for one op, so the op switch stays outside the inner loop.
template <class A, class G>
void with_binary(ops::BinaryOp op, G&& g) {
  switch (op) {
    case ops::BinaryOp::Add: return g([](A a, A b) { return a + b; });
    case ops::BinaryOp::Sub: return g([](A a, A b) { return a - b; });
    case ops::BinaryOp::Mul: return g([](A a, A b) { return a * b; });
    case ops::BinaryOp::Div: return g([](A a, A b) { return a / b; });
    case ops::BinaryOp::Max: return g([](A a, A b) { return binary_op(ops::BinaryOp::Max, a, b); });
    case ops::BinaryOp::Min: return g([](A a, A b) { return binary_op(ops::BinaryOp::Min, a, b); });
    case ops::BinaryOp::Pow: return g([](A a, A b) { return A(std::pow(a, b)); });
    case ops::BinaryOp::ReluGrad: return g([](A a, A b) { return b > A(0) ? a : A(0); });
  }
}

template <class A, class G>
void with_unary(ops::UnaryOp op, G&& g) {
  switch (op) {
    case ops::UnaryOp::Neg: return g([](A x) { return -x; });
    case ops::UnaryOp::Exp: return g([](A x) { return A(std::exp(x)); });
    case ops::UnaryOp::Log: return g([](A x) { return A(std::log(x)); });
    case ops::UnaryOp::Sqrt: return g([](A x) { return A(std::sqrt(x)); });
    case ops::UnaryOp::Rsqrt: return g([](A x) { return A(1) / A(std::sqrt(x)); });
    case ops::UnaryOp::Abs: return g([](A x) { return A(std::fabs(x)); });
    case ops::UnaryOp::Sigmoid: return g([](A x) { return A(1) / (A(1) + A(std::exp(-x))); });
    case ops::UnaryOp::Tanh: return g([](A x) { return A(std::tanh(x)); });
    case ops::UnaryOp::Relu: return g([](A x) { return x <= A(0) ? A(0) : x; });  // NaN stays NaN
    case ops::UnaryOp::Square: return g([](A x) { return x * x; });
    case ops::UnaryOp::Sign: return g([](A x) { return A((x > A(0)) - (x < A(0))); });
  }
}

}  // namespace

void CpuBackend::copy(const Tensor& dst, const Tensor& src) {
  dispatch_dtype(dst.dtype(), [&](auto d) {
    dispatch_dtype(src.dtype(), [&](auto s) {
      using TD = decltype(d);
      using TS = decltype(s);
      for_each_run<2>(dst.shape(), {&dst, &src}, [&](int64_t n, auto p, auto st) {
        map1<TD, TS>(n, p[0], p[1], st, [](TS v) { return cast<TD>(v); });
      });
    });
  });
}

void CpuBackend::fill(const Tensor& t, double value) {
  dispatch_dtype(t.dtype(), [&](auto z) {
    using T = decltype(z);
    T v = cast<T>(value);
    for_each_run<1>(t.shape(), {&t}, [&](int64_t n, auto p, auto st) {
      for (int64_t i = 0; i < n; ++i) at<T>(p[0], st[0], i) = v;
    });
  });
}

void CpuBackend::binary(ops::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    with_binary<A>(op, [&](auto g) {
      for_each_run<3>(out.shape(), {&out, &a, &b}, [&](int64_t n, auto p, auto st) {
        map2<T, T, T>(n, p, st, [&](T x, T y) { return cast<T>(g(cast<A>(x), cast<A>(y))); });
      });
    });
  });
}

void CpuBackend::binary_scalar(ops::BinaryOp op, const Tensor& out, const Tensor& a, double b) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    A s = A(b);
    with_binary<A>(op, [&](auto g) {
      for_each_run<2>(out.shape(), {&out, &a}, [&](int64_t n, auto p, auto st) {
        map1<T, T>(n, p[0], p[1], st, [&](T x) { return cast<T>(g(cast<A>(x), s)); });
      });
    });
  });
}

void CpuBackend::unary(ops::UnaryOp op, const Tensor& out, const Tensor& x) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    with_unary<A>(op, [&](auto g) {
      for_each_run<2>(out.shape(), {&out, &x}, [&](int64_t n, auto p, auto st) {
        map1<T, T>(n, p[0], p[1], st, [&](T v) { return cast<T>(g(cast<A>(v))); });
      });
    });
  });
}

void CpuBackend::compare(ops::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_dtype(a.dtype(), [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    for_each_run<3>(out.shape(), {&out, &a, &b}, [&](int64_t n, auto p, auto st) {
      map2<bool, T, T>(n, p, st, [&](T x, T y) {
        A u = cast<A>(x), v = cast<A>(y);
        switch (op) {
          case ops::CompareOp::Eq: return u == v;
          case ops::CompareOp::Ne: return u != v;
          case ops::CompareOp::Lt: return u < v;
          case ops::CompareOp::Le: return u <= v;
          case ops::CompareOp::Gt: return u > v;
          case ops::CompareOp::Ge: return u >= v;
        }
        return false;
      });
    });
  });
}

void CpuBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  dispatch_dtype(out.dtype(), [&](auto z) {
    using T = decltype(z);
    for_each_run<4>(out.shape(), {&out, &cond, &a, &b}, [&](int64_t n, auto p, auto st) {
      for (int64_t i = 0; i < n; ++i)
        at<T>(p[0], st[0], i) = at<bool>(p[1], st[1], i) ? at<T>(p[2], st[2], i) : at<T>(p[3], st[3], i);
    });
  });
}

void CpuBackend::axpby(const Tensor& y, double a, const Tensor& x, double b) {
  dispatch_dtype(y.dtype(), [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    A ca = A(a), cb = A(b);
    for_each_run<2>(y.shape(), {&y, &x}, [&](int64_t n, auto p, auto st) {
      for (int64_t i = 0; i < n; ++i)
        at<T>(p[0], st[0], i) = cast<T>(ca * cast<A>(at<T>(p[1], st[1], i)) + cb * cast<A>(at<T>(p[0], st[0], i)));
    });
  });
}

void CpuBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const ops::SgdArgs& a) {
  dispatch_floating(param.dtype(), "sgd_update", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    T* P = static_cast<T*>(param.raw_data());
    const T* G = static_cast<const T*>(grad.raw_data());
    T* B = a.momentum != 0 ? static_cast<T*>(buf.raw_data()) : nullptr;
    const A lr = A(a.lr), mom = A(a.momentum), damp = A(1 - a.dampening), wd = A(a.weight_decay);
    const int64_t n = param.numel();
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      A p = cast<A>(P[i]), d = cast<A>(G[i]) + wd * p;
      if (B) {
        A b = a.first_step ? d : mom * cast<A>(B[i]) + damp * d;
        B[i] = cast<T>(b);
        d = a.nesterov ? d + mom * b : b;
      }
      P[i] = cast<T>(p - lr * d);
    }
  });
}

void CpuBackend::adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                              const ops::AdamWArgs& a) {
  dispatch_floating(param.dtype(), "adamw_update", [&](auto z) {
    using T = decltype(z);
    using A = acc_t<T>;
    T* P = static_cast<T*>(param.raw_data());
    const T* G = static_cast<const T*>(grad.raw_data());
    T* M = static_cast<T*>(m.raw_data());
    T* V = static_cast<T*>(v.raw_data());
    const double bc1 = 1 - std::pow(a.beta1, double(a.step)), bc2 = 1 - std::pow(a.beta2, double(a.step));
    const A decay = A(1 - a.lr * a.weight_decay), b1 = A(a.beta1), b2 = A(a.beta2), step = A(a.lr / bc1),
            rbc2 = A(1 / std::sqrt(bc2)), eps = A(a.eps);
    const int64_t n = param.numel();
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      A g = cast<A>(G[i]);
      A mi = b1 * cast<A>(M[i]) + (1 - b1) * g, vi = b2 * cast<A>(V[i]) + (1 - b2) * g * g;
      M[i] = cast<T>(mi);
      V[i] = cast<T>(vi);
      P[i] = cast<T>(cast<A>(P[i]) * decay - step * mi / (std::sqrt(vi) * rbc2 + eps));
    }
  });
}

}  // namespace mdp
