// ops.h: the raw tensor operations (namespace mdp::ops). They check their arguments, allocate outputs
// and dispatch to the backend of the inputs' device (backend.h); they record no autograd graph.
// Differentiable versions with the same names live in autograd/functions.h (namespace mdp).
// Conventions: shapes in comments use N batch, C channels, H/W height/width, K classes, D embedding.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "tensor.h"

namespace mdp {
class Generator;

// Argument structs of the ops live in namespace mdp, not mdp::ops, so that an unqualified call such as
// conv2d(x, w, b, args) finds the differentiable mdp::conv2d and not, by argument-dependent lookup, the
// raw ops::conv2d.
struct Conv2dArgs {
  std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};
struct Pool2dArgs {
  std::vector<int64_t> kernel{2, 2}, stride{2, 2}, padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pool only
};
struct SgdArgs {
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, first_step = false;
};
struct AdamWArgs {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  int64_t step = 1;
};
}  // namespace mdp

namespace mdp::ops {
using mdp::AdamWArgs;
using mdp::Conv2dArgs;
using mdp::Pool2dArgs;
using mdp::SgdArgs;

// ---- creation ----
Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor arange(double start, double end, double step = 1, DType dtype = DType::Float32,
              Device device = Device::cpu());
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
// Random numbers from a Generator (random.h); null means the global default generator.
Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);   // U[0,1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* gen = nullptr);  // N(0,1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64,
               Generator* gen = nullptr);
Tensor bernoulli(const Shape& shape, double p_one, DType dtype = DType::Float32, Generator* gen = nullptr);
// Host buffers: values are converted from double to dtype.
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::Float32,
                   Device device = Device::cpu());
Tensor from_blob_copy(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());
std::vector<double> to_vector(const Tensor& t);  // any device, any layout, row-major order
Tensor scalar_tensor(double v, DType dtype = DType::Float32, Device device = Device::cpu());

// ---- copies, conversion, devices ----
void copy_(const Tensor& dst, const Tensor& src);  // shapes must match; converts dtype; any devices
Tensor contiguous(const Tensor& t);                // t itself when already contiguous
Tensor clone(const Tensor& t);
Tensor to(const Tensor& t, DType dtype);
Tensor to(const Tensor& t, Device device);
void fill_(const Tensor& t, double value);

// ---- views: no copy, share storage ----
Tensor view(const Tensor& t, const Shape& shape);     // one dim may be -1; needs compatible strides
Tensor reshape(const Tensor& t, const Shape& shape);  // view when possible, else a contiguous copy
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& t, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Shape& shape);   // size-1 dims broadcast (stride 0); -1 keeps
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// ---- elementwise ----
// ReluGrad: a where b > 0, else 0 (the backward of relu, with b its output).
enum class BinaryOp { Add, Sub, Mul, Div, Max, Min, Pow, ReluGrad };
enum class UnaryOp { Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sigmoid, Tanh, Relu, Square, Sign };
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);  // broadcasting, same dtype and device
Tensor binary(BinaryOp op, const Tensor& a, double b);
Tensor unary(UnaryOp op, const Tensor& x);
Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);   // -> Bool
Tensor compare(CompareOp op, const Tensor& a, double b);          // -> Bool
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond Bool; broadcasting
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, double s);
Tensor add(const Tensor& a, double s);
Tensor pow(const Tensor& a, double e);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// y = a*x + b*y in place (optimizer updates); x and y contiguous with the same shape and dtype.
void axpby_(const Tensor& y, double a, const Tensor& x, double b);

// ---- fused optimizer updates, in place, one pass over param, grad and state (all the same shape) ----
// SGD as torch.optim.SGD: d = g + wd p; buf = first ? d : momentum buf + (1 - dampening) d;
// d = nesterov ? d + momentum buf : buf; p -= lr d. momentum_buf may be undefined when momentum == 0.
void sgd_update_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdArgs& a);
// AdamW as torch.optim.AdamW: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps). step counts from 1.
void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                   const AdamWArgs& a);

// ---- reductions over dims (empty dims = all) ----
enum class ReduceOp { Sum, Mean, Max, Min };
Tensor reduce(ReduceOp op, const Tensor& x, std::vector<int64_t> dims, bool keepdim);
Tensor sum(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<int64_t> dims = {}, bool keepdim = false);
// Max/min along one dim with the index of the first extreme element (int64).
std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& x, std::vector<int64_t> dims, bool unbiased = true, bool keepdim = false);
// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- mixed precision ----
// The ops below take an optional result dtype: by default their inputs'; bfloat16 inputs may ask for a
// float32 result (products of bf16 values accumulated in float32 and stored without rounding to bf16,
// as autograd/autocast.h uses them). No other combination is allowed.
DType mixed_result_dtype(const char* op, DType inputs, std::optional<DType> result);

// ---- linear algebra ----
// a (M, K) @ b (K, N) -> (M, N); batched: (B, M, K) @ (B, K, N) -> (B, M, N), batch broadcast from 1.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false,
              std::optional<DType> out_dtype = std::nullopt);

// ---- convolution (Conv2dArgs above) ----
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dArgs& a);
// x (N, C, H, W), w (O, C/groups, kH, kW), b (O) or undefined -> (N, O, Ho, Wo). x and w share a dtype;
// y and b have out_dtype (x's by default; float32 for bf16 x and w: mixed precision, see above).
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& a,
              std::optional<DType> out_dtype = std::nullopt);
struct Conv2dGrads { Tensor dx, dw, db; };
// dy, x and w share a dtype; dx, dw, db have grad_dtype (x's by default; float32 for bf16 inputs).
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const Conv2dArgs& a,
                            bool need_dx, bool need_dw, bool need_db,
                            std::optional<DType> grad_dtype = std::nullopt);

// ---- batch normalisation over (N, H, W) per channel ----
struct BatchNormResult { Tensor y, save_mean, save_invstd; };
// training: batch statistics (biased variance to normalise); running stats, when defined, updated in
// place as r = (1 - momentum) r + momentum s with the unbiased variance, as PyTorch does.
// eval: running statistics. weight/bias may be undefined (affine = false).
BatchNormResult batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                           const Tensor& running_mean, const Tensor& running_var, bool training,
                           double momentum, double eps);
struct BatchNormGrads { Tensor dx, dweight, dbias, dresidual; };
// save_mean/save_invstd from the forward; in eval they are the running mean and 1/sqrt(var+eps).
BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training);
// y = relu(batch_norm(x) + residual), residual optional (undefined: none), (N, C, H, W) or (N, C): the
// batch-norm, residual-add, ReLU tail of a ResNet block as one op, which the CPU backend runs in one pass
// over memory. Its backward takes the forward's y: dy is masked by y > 0, and that masked gradient is
// also the residual's (dresidual, filled when need_dresidual).
BatchNormResult batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Tensor& running_mean, const Tensor& running_var, bool training,
                                double momentum, double eps, const Tensor& residual = Tensor());
BatchNormGrads batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& weight,
                                        const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                        bool need_dresidual);

// ---- pooling (Pool2dArgs above) ----
Shape pool2d_output_shape(const Shape& x, const Pool2dArgs& a, const char* op);
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dArgs& a);  // (y, argmax in H*W plane)
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape);
Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& a);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const Pool2dArgs& a);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

// ---- resize (N, C, H, W) -> (N, C, out_h, out_w) ----
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, bool align_corners);
Tensor resize_bilinear_backward(const Tensor& dy, const Shape& x_shape, bool align_corners);
// PyTorch's mode='nearest': src = floor(dst * in / out). Works on any dtype (label maps).
Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor resize_nearest_backward(const Tensor& dy, const Shape& x_shape);

// ---- softmax and losses ----
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);      // y = softmax output
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);  // y = log_softmax output
// logits (N, K) or (N, K, H, W); target int64 (N) or (N, H, W), values in [0, K) or ignore_index;
// weight (K) or undefined. Mean over non-ignored pixels (weighted: divided by the summed weights);
// all pixels ignored gives 0. Returns a 0-d tensor.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight,
                     int64_t ignore_index = 255);
Tensor cross_entropy_backward(const Tensor& dloss, const Tensor& logits, const Tensor& target,
                              const Tensor& weight, int64_t ignore_index = 255);

// ---- joining and indexing ----
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);  // views
// out[i][j] = x[i][index[i][j]] along dim (index int64, same rank as x).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// out = zeros(shape) then out[... index ...] += src along dim (the backward of gather).
Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);
// out = x with out[index[i]] = src[i] along dim (copy, not accumulate).
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index 1-D int64
Tensor index_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype = DType::Float32);  // (..., K)
// The k largest (or smallest) values along dim, sorted, with their int64 indices.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);

}  // namespace mdp::ops
