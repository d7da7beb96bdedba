// cpu_backend.h: the fast CPU backend. Convolution and matrix products go through oneDNN (primitives
// cached by shape, dnnl.hpp kept inside the .cpp files); everything else is typed loops over coalesced
// strides, vectorisable by the compiler and parallel over OpenMP threads. float64 convolution and
// matmul run the reference backend's loops (slow, exact), since oneDNN has no float64.
#pragma once
#include "../backend.h"

namespace mdp {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void copy(const Tensor& dst, const Tensor& src) override;
  void fill(const Tensor& t, double value) override;
  void binary(ops::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) override;
  void binary_scalar(ops::BinaryOp op, const Tensor& out, const Tensor& a, double b) override;
  void unary(ops::UnaryOp op, const Tensor& out, const Tensor& x) override;
  void compare(ops::CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) override;
  void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) override;
  void axpby(const Tensor& y, double a, const Tensor& x, double b) override;
  void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const ops::SgdArgs& a) override;
  void adamw_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                    const ops::AdamWArgs& a) override;
  void reduce(ops::ReduceOp op, const Tensor& out, const Tensor& x) override;
  void arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& x, int64_t dim) override;
  void matmul(const Tensor& out, const Tensor& a, const Tensor& b) override;
  void conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const ops::Conv2dArgs& a) override;
  void conv2d_backward(const ops::Conv2dGrads& out, const Tensor& dy, const Tensor& x, const Tensor& w,
                       const ops::Conv2dArgs& a) override;
  void batch_norm(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                  double eps) override;
  void batch_norm_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& x, const Tensor& weight,
                           const Tensor& save_mean, const Tensor& save_invstd, bool training) override;
  void batch_norm_relu(const ops::BatchNormResult& out, const Tensor& x, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                       double eps, const Tensor& residual) override;
  void batch_norm_relu_backward(const ops::BatchNormGrads& out, const Tensor& dy, const Tensor& y, const Tensor& x,
                                const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd,
                                bool training) override;
  void max_pool2d(const Tensor& y, const Tensor& indices, const Tensor& x, const ops::Pool2dArgs& a) override;
  void max_pool2d_backward(const Tensor& dx, const Tensor& dy, const Tensor& indices) override;
  void avg_pool2d(const Tensor& y, const Tensor& x, const ops::Pool2dArgs& a) override;
  void avg_pool2d_backward(const Tensor& dx, const Tensor& dy, const ops::Pool2dArgs& a) override;
  void adaptive_avg_pool2d(const Tensor& y, const Tensor& x) override;
  void adaptive_avg_pool2d_backward(const Tensor& dx, const Tensor& dy) override;
  void resize_bilinear(const Tensor& y, const Tensor& x, bool align_corners) override;
  void resize_bilinear_backward(const Tensor& dx, const Tensor& dy, bool align_corners) override;
  void resize_nearest(const Tensor& y, const Tensor& x) override;
  void resize_nearest_backward(const Tensor& dx, const Tensor& dy) override;
  void softmax(const Tensor& y, const Tensor& x, int64_t dim, bool log) override;
  void softmax_backward(const Tensor& dx, const Tensor& dy, const Tensor& y, int64_t dim, bool log) override;
  void cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index) override;
  void cross_entropy_backward(const Tensor& dlogits, double dloss, const Tensor& logits, const Tensor& target,
                              const Tensor& weight, int64_t ignore_index) override;
  void gather(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) override;
  void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void scatter(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void index_select(const Tensor& out, const Tensor& x, int64_t dim, const Tensor& index) override;
  void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void one_hot(const Tensor& out, const Tensor& labels) override;
  void topk(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, int64_t dim,
            bool largest) override;
};

}  // namespace mdp
