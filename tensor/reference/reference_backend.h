// reference_backend.h: the reference backend, plain loops over double copies of the inputs. Slow and
// obviously correct: it is what the fast CPU and CUDA backends are tested against, and what gradient
// checks in float64 run on. One .cpp per concept, with the same names as in tensor/cpu and cuda/.
#pragma once
#include "../backend.h"

namespace mdp {

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }
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

// Shared scalar definitions, so that every backend computes the same function.
double apply_binary(ops::BinaryOp op, double a, double b);
double apply_unary(ops::UnaryOp op, double x);
bool apply_compare(ops::CompareOp op, double a, double b);
// Source coordinate of PyTorch's bilinear resize (area_pixel_compute_source_index).
double bilinear_source(int64_t dst, int64_t in, int64_t out, bool align_corners);
// Source index of PyTorch's nearest resize: floor(dst * (float)in / out), computed in float as it does.
int64_t nearest_source(int64_t dst, int64_t in, int64_t out);
// Pooling window [start, end) along one dim, as PyTorch clips it.
struct Window { int64_t start, end, divisor_span; };
Window pool_window(int64_t o, int64_t in, const ops::Pool2dArgs& a, int axis);
void check_label(const char* op, int64_t label, int64_t num_classes, int64_t ignore_index, int64_t at);

}  // namespace mdp
