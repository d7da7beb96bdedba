// backend.h: the op table. A Backend computes ops for the tensors of one device kind; ops.cpp checks
// arguments, allocates outputs and calls the backend of the inputs' device. Three backends exist:
// reference (plain loops, the truth every other one is tested against), cpu (oneDNN and vectorised
// loops) and cuda (cuDNN, cuBLAS, kernels). An op a backend does not provide throws; there is no silent
// fallback. All tensors passed in are on the backend's device; outputs are allocated by the caller.
#pragma once
#include "ops.h"

namespace mdp {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Elementwise: every tensor has out's shape (inputs broadcast by stride-0 views); any strides.
  virtual void copy(const Tensor& dst, const Tensor& src);  // converts dtype
  virtual void fill(const Tensor& t, double value);
  virtual void binary(ops::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
  virtual void binary_scalar(ops::BinaryOp op, const Tensor& out, const Tensor& a, double b);
  virtual void unary(ops::UnaryOp op, const Tensor& out, const Tensor& x);
  virtual void compare(ops::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);
  virtual void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
  virtual void axpby(const Tensor& y, double a, const Tensor& x, double b);
  // Fused optimizer updates on contiguous tensors of one shape (ops.h gives the formulas).
  virtual void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const ops::SgdArgs& a);
  virtual void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                            const ops::AdamWArgs& a);

  // Reductions: out has x's rank; the dims where out has size 1 and x not are the reduced ones.
  // Mean divides by x.numel() / out.numel().
  virtual void reduce(ops::ReduceOp op, const Tensor& out, const Tensor& x);
  // Along one dim: values and int64 indices shaped like x with that dim of size 1.
  virtual void arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& x,
                          int64_t dim);

  // Mixed precision (ops.h): matmul and conv2d may get bfloat16 inputs with float32 outputs (conv2d's bias
  // and gradients included); every backend computes those as products of bf16 values summed in float32
  // or wider, never rounding the result to bf16.
  // out (B, M, N) contiguous = a (B, M, K) @ b (B, K, N); a and b any strides (batch stride 0 = broadcast).
  virtual void matmul(const Tensor& out, const Tensor& a, const Tensor& b);

  virtual void conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                      const ops::Conv2dArgs& a);
  virtual void conv2d_backward(const ops::Conv2dGrads& out, const Tensor& dy, const Tensor& x,
                               const Tensor& w, const ops::Conv2dArgs& a);  // fills defined grads

  virtual void batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight,
                          const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                          bool training, double momentum, double eps);
  virtual void batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x,
                                   const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training);
  // ops::batch_norm_relu and its backward. The defaults compose batch_norm, add, relu (and ReluGrad,
  // batch_norm_backward); a backend may fuse them. residual / out.dresidual may be undefined.
  virtual void batch_norm_relu(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight,
                               const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                               bool training, double momentum, double eps, const Tensor& residual);
  virtual void batch_norm_relu_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y,
                                        const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                        const Tensor& save_invstd, bool training);

  virtual void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a);
  virtual void max_pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices);
  virtual void avg_pool2d(const Tensor& y, const Tensor& x, const ops::Pool2dArgs& a);
  virtual void avg_pool2d_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs& a);
  virtual void adaptive_avg_pool2d(const Tensor& y, const Tensor& x);
  virtual void adaptive_avg_pool2d_backward(const Tensor& dx, const Tensor& dy);

  virtual void resize_bilinear(const Tensor& y, const Tensor& x, bool align_corners);
  virtual void resize_bilinear_backward(const Tensor& dx, const Tensor& dy, bool align_corners);
  virtual void resize_nearest(const Tensor& y, const Tensor& x);
  virtual void resize_nearest_backward(const Tensor& dx, const Tensor& dy);

  virtual void softmax(const Tensor& y, const Tensor& x, int64_t dim, bool log);
  virtual void softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, int64_t dim, bool log);
  // logits (N, K, S) and target (N, S) contiguous (S = H*W, or 1); out 0-d.
  virtual void cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target,
                             const Tensor& weight, int64_t ignore_index);
  virtual void cross_entropy_backward(const Tensor& dlogits, double dloss, const Tensor& logits,
                                      const Tensor& target, const Tensor& weight, int64_t ignore_index);

  virtual void gather(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index);
  virtual void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);  // out += ..
  virtual void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);      // out = ..
  virtual void index_select(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index);
  virtual void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);   // out += ..
  virtual void one_hot(const Tensor& out, const Tensor& labels);
  virtual void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t dim,
                    bool largest);

 protected:
  [[noreturn]] void missing(const char* op) const;
};

Backend& reference_backend();
Backend& cpu_backend();

// The backend that runs ops for t: cuda for CUDA tensors; for CPU tensors the cpu backend, or the
// reference backend while a ReferenceScope is alive on this thread (tests, gradient checks).
Backend& backend_for(const Tensor& t);

struct ReferenceScope {
  ReferenceScope();
  ~ReferenceScope();
  ReferenceScope(const ReferenceScope&) = delete;
  ReferenceScope& operator=(const ReferenceScope&) = delete;
  bool previous;
};

}  // namespace mdp
