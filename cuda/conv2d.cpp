// conv2d.cpp (cuda): convolution forward and its data and filter gradients through cuDNN's convolution
// API (cudnnConvolutionForward / BackwardData / BackwardFilter, present but marked legacy in cuDNN 9).
// The algorithm of each direction is chosen once per shape with cudnnGet*Algorithm_v7 (cuDNN's
// heuristics, no benchmarking) and cached; every call shares the device's one workspace, grown when
// needed. Bias forward is the elementwise add and the bias gradient the reduction of this backend.
// float32 uses TF32 tensor cores only when set_allow_tf32(true); bfloat16 computes in float32.
// Mixed precision (bf16 x, w, dy; float32 y, dx, dw, db): cuDNN's legacy API writes its outputs in the
// inputs' dtype, so y, dx and dw are computed in bf16 (float32 accumulation, as PyTorch's autocast
// on cuDNN) and cast to float32; the bias is added and its gradient summed in float32.
#include <climits>
#include <map>
#include <mutex>
#include <tuple>

#include "cuda/cuda_backend.h"
#include "cuda/runtime.h"
#include "tensor/error.h"

namespace mdp::cuda {
namespace {

enum class Dir { Forward, BackwardData, BackwardFilter };

struct Algo {
  int algo = 0;  // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

struct Key {
  int device;
  Dir dir;
  DType dtype;
  bool tf32;
  Shape x, w;
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups;
  auto operator<=>(const Key&) const = default;
};

int as_int(int64_t v) {
  MDP_CHECK(v <= INT_MAX, "conv2d: size {} is too large for cuDNN", v);
  return int(v);
}

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::Float32: return CUDNN_DATA_FLOAT;
    case DType::Float64: return CUDNN_DATA_DOUBLE;
    case DType::BFloat16: return CUDNN_DATA_BFLOAT16;
    default: throw Error(fmt::format("conv2d: dtype {} is not supported by the cuda backend", dtype_name(t)));
  }
}

// The descriptors of one convolution (x, w, y in NCHW / OIHW, contiguous), destroyed with it.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const Shape& xs, const Shape& ws, const Shape& ys, const ops::Conv2dArgs& a, DType t) {
    cudnnDataType_t dt = data_type(t);
    MDP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    MDP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    MDP_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    MDP_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    MDP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, dt, as_int(xs[0]), as_int(xs[1]), as_int(xs[2]),
                                               as_int(xs[3])));
    MDP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, dt, as_int(ys[0]), as_int(ys[1]), as_int(ys[2]),
                                               as_int(ys[3])));
    MDP_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NCHW, as_int(ws[0]), as_int(ws[1]), as_int(ws[2]),
                                               as_int(ws[3])));
    MDP_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        conv, as_int(a.padding[0]), as_int(a.padding[1]), as_int(a.stride[0]), as_int(a.stride[1]),
        as_int(a.dilation[0]), as_int(a.dilation[1]), CUDNN_CROSS_CORRELATION,
        t == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT));
    MDP_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, as_int(a.groups)));
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math_type(t)));
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  // Tensor cores for bf16; for float32 only with TF32 allowed (FMA math forbids them).
  static cudnnMathType_t math_type(DType t) {
    if (t == DType::BFloat16) return CUDNN_TENSOR_OP_MATH;
    if (t == DType::Float32) return allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    return CUDNN_DEFAULT_MATH;
  }
};

constexpr size_t kWorkspaceLimit = size_t(1) << 30;  // algorithms needing more are passed over

// The first (fastest by cuDNN's heuristics) usable algorithm of a perf list. A float32 algorithm must
// keep FMA math unless TF32 is allowed.
template <class Perf>
Algo pick(const Perf* perf, int n, DType t, const char* what) {
  for (int i = 0; i < n; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kWorkspaceLimit) continue;
    if (t == DType::Float32 && !allow_tf32() && perf[i].mathType != CUDNN_FMA_MATH) continue;
    return {int(perf[i].algo), perf[i].mathType, 0};
  }
  throw Error(fmt::format("conv2d: cuDNN offers no {} algorithm for this convolution", what));
}

// The algorithm for one direction of one convolution shape, chosen on first use.
Algo algorithm(Context& c, Dir dir, const Descriptors& d, const Shape& xs, const Shape& ws, const ops::Conv2dArgs& a,
               DType t) {
  static std::mutex mu;
  static std::map<Key, Algo> cache;
  Key key{c.device, dir, t, allow_tf32(), xs, ws, a.stride, a.padding, a.dilation, a.groups};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  Algo r;
  int n = 0;
  cudnnHandle_t h = c.cudnn();
  if (dir == Dir::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    MDP_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                           &n, perf));
    r = pick(perf, n, t, "forward");
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, r.math));
    MDP_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, cudnnConvolutionFwdAlgo_t(r.algo),
                                                            &r.workspace));
  } else if (dir == Dir::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    MDP_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
    r = pick(perf, n, t, "backward-data");
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, r.math));
    MDP_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x,
                                                                 cudnnConvolutionBwdDataAlgo_t(r.algo), &r.workspace));
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    MDP_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
    r = pick(perf, n, t, "backward-filter");
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, r.math));
    MDP_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, d.x, d.y, d.conv, d.w, cudnnConvolutionBwdFilterAlgo_t(r.algo), &r.workspace));
  }
  std::lock_guard<std::mutex> lock(mu);
  cache.emplace(key, r);
  return r;
}

// alpha = 1 and beta = 0 in the type cuDNN wants: double for float64 data, float otherwise.
struct Scale {
  float f1 = 1, f0 = 0;
  double d1 = 1, d0 = 0;
  bool dbl;
  explicit Scale(DType t) : dbl(t == DType::Float64) {}
  const void* one() const { return dbl ? static_cast<const void*>(&d1) : &f1; }
  const void* zero() const { return dbl ? static_cast<const void*>(&d0) : &f0; }
};

}  // namespace

void CudaBackend::conv2d(const Tensor& y0, const Tensor& x, const Tensor& w, const Tensor& b, const ops::Conv2dArgs& a) {
  Tensor y = y0.dtype() == x.dtype() ? y0 : ops::empty(y0.shape(), x.dtype(), x.device());  // mixed: bf16 first
  Context& c = context(x);
  Descriptors d(x.shape(), w.shape(), y.shape(), a, x.dtype());
  Algo al = algorithm(c, Dir::Forward, d, x.shape(), w.shape(), a, x.dtype());
  MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, al.math));
  void* ws = c.workspace(al.workspace);
  Scale s(x.dtype());
  MDP_CUDNN_CHECK(cudnnConvolutionForward(c.cudnn(), s.one(), d.x, x.raw_data(), d.w, w.raw_data(), d.conv,
                                          cudnnConvolutionFwdAlgo_t(al.algo), ws, al.workspace, s.zero(), d.y,
                                          y.raw_data()));
  if (!y.same(y0)) copy(y0, y);
  if (b.defined()) binary(ops::BinaryOp::Add, y0, y0, ops::expand(ops::view(b, {1, w.size(0), 1, 1}), y0.shape()));
}

void CudaBackend::conv2d_backward(const ops::Conv2dGrads& out0, const Tensor& dy, const Tensor& x, const Tensor& w,
                                  const ops::Conv2dArgs& a) {
  // Mixed precision: dx and dw computed in x's dtype, then cast into out0's.
  auto in_x_dtype = [&](const Tensor& t) {
    return !t.defined() || t.dtype() == x.dtype() ? t : ops::empty(t.shape(), x.dtype(), x.device());
  };
  ops::Conv2dGrads out{in_x_dtype(out0.dx), in_x_dtype(out0.dw), out0.db};
  Context& c = context(x);
  Descriptors d(x.shape(), w.shape(), dy.shape(), a, x.dtype());
  Scale s(x.dtype());
  if (out.dx.defined()) {
    Algo al = algorithm(c, Dir::BackwardData, d, x.shape(), w.shape(), a, x.dtype());
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, al.math));
    void* ws = c.workspace(al.workspace);
    MDP_CUDNN_CHECK(cudnnConvolutionBackwardData(c.cudnn(), s.one(), d.w, w.raw_data(), d.y, dy.raw_data(), d.conv,
                                                 cudnnConvolutionBwdDataAlgo_t(al.algo), ws, al.workspace, s.zero(),
                                                 d.x, out.dx.raw_data()));
  }
  if (out.dw.defined()) {
    Algo al = algorithm(c, Dir::BackwardFilter, d, x.shape(), w.shape(), a, x.dtype());
    MDP_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, al.math));
    void* ws = c.workspace(al.workspace);
    MDP_CUDNN_CHECK(cudnnConvolutionBackwardFilter(c.cudnn(), s.one(), d.x, x.raw_data(), d.y, dy.raw_data(), d.conv,
                                                   cudnnConvolutionBwdFilterAlgo_t(al.algo), ws, al.workspace,
                                                   s.zero(), d.w, out.dw.raw_data()));
  }
  if (out.dx.defined() && !out.dx.same(out0.dx)) copy(out0.dx, out.dx);
  if (out.dw.defined() && !out.dw.same(out0.dw)) copy(out0.dw, out.dw);
  if (out.db.defined())
    reduce(ops::ReduceOp::Sum, ops::view(out.db, {1, w.size(0), 1, 1}),
           dy.dtype() == out.db.dtype() ? dy : ops::to(dy, out.db.dtype()));
}

}  // namespace mdp::cuda
