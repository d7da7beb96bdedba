// conv2d.cpp (cpu): convolution forward, backward-data and backward-weights (with bias gradient)
// through oneDNN on NCHW / (G)OIHW tensors, primitives cached by shape, arguments and dtypes.
// The primitives choose their layouts (format any): oneDNN's fast kernels (AVX-512 direct convolution
// for float32, AMX / AVX512-BF16 for bfloat16) want blocked or channels-last data, and execute_plain
// reorders into and out of them. On plain NCHW oneDNN would fall back to im2col + gemm, slower than
// the blocked kernels plus the reorders. Mixed precision: bf16 x, w and dy with float32 y, bias, dx,
// dw, db (oneDNN accumulates in float32 and writes float32 directly). A CPU without bf16 kernels (oneDNN
// 2.6 has them only with AVX-512) runs bf16 convolutions in float32 on the widened operands instead.
// A 1x1 convolution with stride 1 and no padding is per image a matrix product, which oneDNN's sgemm
// (float32) or matmul (bf16) computes on the NCHW layout itself, so those (most of ResNet's) skip the
// reorders. float32 3x3 stride-1 convolutions use oneDNN's Winograd F(4x4, 3x3) kernels where it has
// them (2.25x fewer multiplications; float32 error still within the tests' 1e-4 of the reference).
// float32 dilated convolutions whose taps mostly read the zero padding (ASPP) skip those zeros: one
// matrix product per tap over the part of the map where it is valid (taps_forward, taps_backward).
// Other float32 dilated 3x3 convolutions run as undilated ones on the interleaved sub-grids
// (subgrid_winograd), hence also on the Winograd kernels.
#include <fmt/ranges.h>

#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dnnl_context.h"

namespace mdp {
using namespace cpu;
using dnnl::memory;

namespace {
memory::desc weight_md(const Tensor& w, int64_t groups) {
  if (groups == 1) return plain_md(w, "conv2d");
  return plain_md(w, {groups, w.size(0) / groups, w.size(1), w.size(2), w.size(3)}, "conv2d");
}

// The descriptor a primitive is created with: md's dims and dtype in "any layout" (oneDNN chooses).
memory::desc chosen(const memory::desc& md) { return memory::desc(md.dims(), md.data_type(), memory::format_tag::any); }

struct ConvDescs {
  memory::desc x, w, b, y;  // plain, as the tensors are
  memory::dims stride, dilation, pad_l, pad_r;
  dnnl::algorithm algo = dnnl::algorithm::convolution_direct;  // or Winograd, see with_algorithm
};

// Descriptors of x, w and y as given and of a bias (O) of dtype bias_dtype.
ConvDescs conv_descs(const Tensor& x, const Tensor& w, const Tensor& y, const ops::Conv2dArgs& a, DType bias_dtype) {
  ConvDescs d;
  d.x = plain_md(x, "conv2d");
  d.y = plain_md(y, "conv2d");
  d.w = weight_md(w, a.groups);
  d.b = memory::desc({w.size(0)}, dnnl_type(bias_dtype, "conv2d"), memory::format_tag::a);
  if (x.dtype() == DType::Float32 && a.groups == 1 && w.size(2) == 3 && w.size(3) == 3 && a.stride[0] == 1 &&
      a.stride[1] == 1 && a.dilation[0] == 1 && a.dilation[1] == 1)
    d.algo = dnnl::algorithm::convolution_winograd;
  d.stride = {a.stride[0], a.stride[1]};
  d.dilation = {a.dilation[0] - 1, a.dilation[1] - 1};  // oneDNN counts dilation from 0
  d.pad_l = {a.padding[0], a.padding[1]};
  // Right padding that makes oneDNN's output size equal ours (floor division, as PyTorch).
  d.pad_r = {(y.size(2) - 1) * a.stride[0] + (w.size(2) - 1) * a.dilation[0] + 1 - x.size(2) - a.padding[0],
             (y.size(3) - 1) * a.stride[1] + (w.size(3) - 1) * a.dilation[1] + 1 - x.size(3) - a.padding[1]};
  return d;
}

std::string conv_key(const char* what, const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a, bool bias,
                     DType out) {
  return fmt::format("{} {} {} {} {} {} {} {} {} {}", what, x.shape(), w.shape(), a.stride, a.padding, a.dilation,
                     a.groups, bias, int(x.dtype()), int(out));
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, dnnl::algorithm algo,
                                                     const memory::desc& y, bool bias) {
  using fwd = dnnl::convolution_forward;
  memory::desc x = chosen(d.x), w = chosen(d.w), yc = chosen(y);
  auto desc = bias ? fwd::desc(dnnl::prop_kind::forward_training, algo, x, w, d.b, yc, d.stride, d.dilation,
                               d.pad_l, d.pad_r)
                   : fwd::desc(dnnl::prop_kind::forward_training, algo, x, w, yc, d.stride, d.dilation, d.pad_l,
                               d.pad_r);
  return fwd::primitive_desc(desc, dnnl_engine());
}

// make(algorithm) with d.algo (Winograd for float32 3x3 stride-1 convolutions), falling back to direct
// convolution where oneDNN has no Winograd kernel for this machine or shape.
dnnl::primitive with_algorithm(const ConvDescs& d, const std::function<dnnl::primitive(dnnl::algorithm)>& make) {
  if (d.algo != dnnl::algorithm::convolution_direct) {
    try {
      return make(d.algo);
    } catch (const dnnl::error&) {
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

// ---- float32 per-image matrix products on contiguous NCHW blocks (dnnl::sgemm, row-major) ----
// P is the number of pixels per image (H*W of the block). W is a contiguous (O, C) (or (O, C, 1, 1)).
const float* cf(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }
float* mf(const Tensor& t) { return static_cast<float*>(t.raw_data()); }
int64_t pixels(const Tensor& t) { return t.numel() / std::max<int64_t>(t.size(0) * t.size(1), 1); }

// y[n] (O, P) = W (O, C) @ x[n] (C, P) + beta y[n]
void sgemm_w_x(const Tensor& w, const Tensor& x, const Tensor& y, float beta) {
  int64_t N = x.size(0), C = x.size(1), O = y.size(1), P = pixels(x);
  for (int64_t n = 0; n < N; ++n)
    dnnl::sgemm('N', 'N', O, P, C, 1.0f, cf(w), C, cf(x) + n * C * P, P, beta, mf(y) + n * O * P, P);
}
// dx[n] (C, P) = W^T (C, O) @ dy[n] (O, P) + beta dx[n]
void sgemm_wt_dy(const Tensor& w, const Tensor& dy, const Tensor& dx, float beta) {
  int64_t N = dy.size(0), O = dy.size(1), C = dx.size(1), P = pixels(dy);
  for (int64_t n = 0; n < N; ++n)
    dnnl::sgemm('T', 'N', C, P, O, 1.0f, cf(w), C, cf(dy) + n * O * P, P, beta, mf(dx) + n * C * P, P);
}
// dW (O, C) = sum_n dy[n] (O, P) @ x[n]^T (P, C), accumulated in dW (beta 1 after the first image)
void sgemm_dw(const Tensor& dy, const Tensor& x, const Tensor& dw) {
  int64_t N = dy.size(0), O = dy.size(1), C = x.size(1), P = pixels(dy);
  for (int64_t n = 0; n < N; ++n)
    dnnl::sgemm('N', 'T', O, C, P, 1.0f, cf(dy) + n * O * P, P, cf(x) + n * C * P, P, n == 0 ? 0.0f : 1.0f, mf(dw), C);
}

// ---- 1x1 convolutions as matrix products over (N, C, H*W) ----
bool pointwise(const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a) {
  return a.groups == 1 && w.size(2) == 1 && w.size(3) == 1 && a.stride[0] == 1 &&
         a.stride[1] == 1 && a.padding[0] == 0 && a.padding[1] == 0;
}

memory::desc mat(const Tensor& t, const memory::dims& dims, const memory::dims& strides) {
  return memory::desc(dims, dnnl_type(t.dtype(), "conv2d"), strides);
}

// c (B, M, N) = a (B or 1, M, K) @ b (B or 1, K, N) with the given descriptors.
void matmul_into(const std::string& key, const memory::desc& am, const Tensor& a, const memory::desc& bm,
                 const Tensor& b, const memory::desc& cm, const Tensor& c) {
  auto& prim = cached_primitive(key, [&] {
    return dnnl::primitive(dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(am, bm, cm), dnnl_engine())));
  });
  execute_plain(prim, {{DNNL_ARG_SRC, am, a}, {DNNL_ARG_WEIGHTS, bm, b}, {DNNL_ARG_DST, cm, c, true}});
}

// y[n] (O, HW) = W (O, C) @ x[n] (C, HW) + b. The bias is a separate add: oneDNN's AMX matmul takes
// a bias per column only, and this one is per row.
void pointwise_forward(Backend& be, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                       const std::string& key) {
  int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), O = w.size(0);
  if (x.dtype() == DType::Float32 && y.dtype() == DType::Float32) {
    sgemm_w_x(w, x, y, 0.0f);
  } else {
    matmul_into(key, mat(w, {1, O, C}, {O * C, C, 1}), w, mat(x, {N, C, HW}, {C * HW, HW, 1}), x,
                mat(y, {N, O, HW}, {O * HW, HW, 1}), y);
  }
  if (b.defined()) be.binary(ops::BinaryOp::Add, y, y, ops::expand(ops::view(b, {1, O, 1, 1}), y.shape()));
}

// dx[n] (C, HW) = W^T (C, O) @ dy[n] (O, HW);  dW (O, C) = sum_n dy[n] (O, HW) @ x[n]^T (HW, C). In
// float32 the sum over n accumulates in dW (sgemm with beta = 1); in mixed precision (float32 dW) a
// matmul with a sum post-op accumulates it; a bf16 dW is summed in float32 and rounded once.
void pointwise_backward(const ops::Conv2dGrads& g, const Tensor& dy, const Tensor& x, const Tensor& w,
                        const std::string& key) {
  int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), O = w.size(0);
  memory::desc dym = mat(dy, {N, O, HW}, {O * HW, HW, 1});
  if (g.dx.defined() && x.dtype() == DType::Float32 && g.dx.dtype() == DType::Float32) {
    sgemm_wt_dy(w, dy, g.dx, 0.0f);
  } else if (g.dx.defined())
    matmul_into(key + " data", mat(w, {1, C, O}, {O * C, 1, C}), w, dym, dy, mat(g.dx, {N, C, HW}, {C * HW, HW, 1}),
                g.dx);
  if (g.dw.defined() && x.dtype() == DType::Float32) {
    sgemm_dw(dy, x, g.dw);
  } else if (g.dw.defined() && g.dw.dtype() == DType::BFloat16) {  // bf16 result: sum in float32, round once
    Tensor per_image = ops::empty({N, O, C});
    matmul_into(key + " weights", dym, dy, mat(x, {N, HW, C}, {C * HW, 1, HW}), x,
                mat(per_image, {N, O, C}, {O * C, C, 1}), per_image);
    ops::copy_(ops::view(g.dw, {O, C}), ops::sum(per_image, {0}));
  } else if (g.dw.defined()) {
    // mixed precision: dW (O, C) = dy[0] @ x[0]^T, then += dy[n] @ x[n]^T: oneDNN's matmul, with a sum
    // post-op after the first
    memory::desc am = mat(dy, {O, HW}, {HW, 1}), bm = mat(x, {HW, C}, {1, HW}), cm = mat(g.dw, {O, C}, {C, 1});
    for (int64_t n = 0; n < N; ++n) {
      auto& prim = cached_primitive(key + (n == 0 ? " weights" : " weights+="), [&] {
        dnnl::primitive_attr attr;
        if (n > 0) {
          dnnl::post_ops po;
          po.append_sum(1.0f);
          attr.set_post_ops(po);
        }
        return dnnl::primitive(
            dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(am, bm, cm), attr, dnnl_engine())));
      });
      execute_plain(prim, {{DNNL_ARG_SRC, am, ops::select(dy, 0, n)}, {DNNL_ARG_WEIGHTS, bm, ops::select(x, 0, n)},
                           {DNNL_ARG_DST, cm, g.dw, true}});
    }
  }
  if (g.db.defined()) ops::copy_(g.db, ops::sum(ops::to(dy, g.db.dtype()), {0, 2, 3}));
}

// ---- dilated float32 convolutions whose taps mostly read padding, as one matrix product per tap ----
// DeepLabV3's ASPP runs 3x3 convolutions with dilation 12/24/36 on 32x32 or 64x64 maps: most taps then
// fall outside the map, where the input is the zero padding. oneDNN computes them by im2col + gemm,
// multiplying all those zeros. Here y = sum over taps t of W_t (O, C) @ x shifted by t, restricted to
// the output rectangle where the shifted input is inside the map: each tap is a 1x1 convolution of a
// crop of x added into a crop of y (the dilation-36 convolution on a 32x32 map is its centre tap only).
struct Tap {
  int64_t kh, kw, oh0, oh1, ow0, ow1, ih0, iw0;  // output rows [oh0, oh1), cols [ow0, ow1); input origin
  int64_t rows() const { return oh1 - oh0; }
  int64_t cols() const { return ow1 - ow0; }
};

// The taps of a stride-1 convolution with a non-empty valid region.
std::vector<Tap> valid_taps(const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a, int64_t Ho, int64_t Wo) {
  std::vector<Tap> taps;
  auto range = [](int64_t off, int64_t in, int64_t out, int64_t& o0, int64_t& o1) {  // 0 <= o + off < in
    o0 = std::max<int64_t>(0, -off);
    o1 = std::min<int64_t>(out, in - off);
  };
  for (int64_t kh = 0; kh < w.size(2); ++kh)
    for (int64_t kw = 0; kw < w.size(3); ++kw) {
      Tap t{kh, kw, 0, 0, 0, 0, 0, 0};
      int64_t offh = kh * a.dilation[0] - a.padding[0], offw = kw * a.dilation[1] - a.padding[1];
      range(offh, x.size(2), Ho, t.oh0, t.oh1);
      range(offw, x.size(3), Wo, t.ow0, t.ow1);
      if (t.oh1 <= t.oh0 || t.ow1 <= t.ow0) continue;
      t.ih0 = t.oh0 + offh;
      t.iw0 = t.ow0 + offw;
      taps.push_back(t);
    }
  return taps;
}

// True for a float32, ungrouped, stride-1, dilated convolution whose valid taps cover at most 3/4 of
// the kernel x output positions (so at least a quarter of im2col's products would be zeros).
bool mostly_padding(const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a, int64_t Ho, int64_t Wo) {
  if (x.dtype() != DType::Float32 || a.groups != 1 || a.stride[0] != 1 || a.stride[1] != 1 ||
      (a.dilation[0] == 1 && a.dilation[1] == 1))
    return false;
  int64_t covered = 0;
  for (const Tap& t : valid_taps(x, w, a, Ho, Wo)) covered += t.rows() * t.cols();
  return 4 * covered <= 3 * w.size(2) * w.size(3) * Ho * Wo;
}

Tensor crop(const Tensor& t, int64_t h0, int64_t rows, int64_t w0, int64_t cols) {
  return ops::narrow(ops::narrow(t, 2, h0, rows), 3, w0, cols);
}
Tensor tap_weight(const Tensor& w, const Tap& t) {  // W[:, :, kh, kw] as a contiguous (O, C)
  return ops::contiguous(ops::select(ops::select(w, 3, t.kw), 2, t.kh));
}

// view += a block write(dst, beta) fills: written in place (beta 1) when the view is contiguous, else
// into a scratch block (beta 0) that is then added.
template <class Write>
void accumulate_into(Backend& be, const Tensor& view, Write&& write) {
  if (view.is_contiguous()) return write(view, 1.0f);
  Tensor block = ops::empty(view.shape());
  write(block, 0.0f);
  be.binary(ops::BinaryOp::Add, view, view, block);
}

// y (N, O, Ho, Wo) = b + sum_t W_t @ crop_t(x)
void taps_forward(Backend& be, const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                  const ops::Conv2dArgs& a) {
  int64_t O = w.size(0);
  if (b.defined()) ops::copy_(y, ops::expand(ops::view(b, {1, O, 1, 1}), y.shape()));
  else be.fill(y, 0);
  for (const Tap& t : valid_taps(x, w, a, y.size(2), y.size(3))) {
    // (N, C, rows, cols): x itself for a tap that covers the whole map, else a copy of the crop
    Tensor xs = ops::contiguous(crop(x, t.ih0, t.rows(), t.iw0, t.cols())), wt = tap_weight(w, t);
    accumulate_into(be, crop(y, t.oh0, t.rows(), t.ow0, t.cols()),
                    [&](const Tensor& ys, float beta) { sgemm_w_x(wt, xs, ys, beta); });
  }
}

// dx = sum_t uncrop_t(W_t^T @ crop_t(dy));  dW_t = sum_n crop_t(dy)[n] @ crop_t(x)[n]^T;  db = sum dy
void taps_backward(Backend& be, const ops::Conv2dGrads& g, const Tensor& dy, const Tensor& x, const Tensor& w,
                   const ops::Conv2dArgs& a) {
  int64_t C = x.size(1), O = w.size(0);
  if (g.dx.defined()) be.fill(g.dx, 0);
  if (g.dw.defined()) be.fill(g.dw, 0);  // taps that never touch the map get no gradient
  for (const Tap& t : valid_taps(x, w, a, dy.size(2), dy.size(3))) {
    Tensor dys = ops::contiguous(crop(dy, t.oh0, t.rows(), t.ow0, t.cols()));  // (N, O, rows, cols)
    if (g.dx.defined()) {
      Tensor wt = tap_weight(w, t);
      accumulate_into(be, crop(g.dx, t.ih0, t.rows(), t.iw0, t.cols()),
                      [&](const Tensor& dxs, float beta) { sgemm_wt_dy(wt, dys, dxs, beta); });
    }
    if (g.dw.defined()) {
      Tensor xs = ops::contiguous(crop(x, t.ih0, t.rows(), t.iw0, t.cols())), dwt = ops::empty({O, C});
      sgemm_dw(dys, xs, dwt);
      ops::copy_(ops::select(ops::select(g.dw, 3, t.kw), 2, t.kh), dwt);
    }
  }
  if (g.db.defined()) ops::copy_(g.db, ops::sum(dy, {0, 2, 3}));
}

// ---- dilated float32 3x3 convolutions as undilated ones on the d x d interleaved sub-grids ----
// With dilation d (padding d, stride 1, H and W multiples of d), output pixel (i, j) reads only pixels
// congruent to it modulo d: the convolution is d*d independent undilated 3x3 convolutions (padding 1),
// one per sub-grid (the space-to-batch form of atrous convolution). Moving the sub-grids into the batch
// (N*d*d, C, H/d, W/d) lets them run on the Winograd kernels; ResNet's dilated layer3/layer4 at output
// stride 8 (DeepLabV3, MDP pretraining) take this path.
bool subgrid_winograd(const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a) {
  int64_t d = a.dilation[0];
  return x.dtype() == DType::Float32 && a.groups == 1 && w.size(2) == 3 && w.size(3) == 3 && a.stride[0] == 1 &&
         a.stride[1] == 1 && d > 1 && a.dilation[1] == d && a.padding[0] == d && a.padding[1] == d &&
         x.size(2) % d == 0 && x.size(3) % d == 0;
}

// (N, C, H, W) -> (N*d*d, C, H/d, W/d): sub-grid (a, b) of image n is batch entry (n*d + a)*d + b.
Tensor to_subgrids(const Tensor& t, int64_t d) {
  int64_t N = t.size(0), C = t.size(1), H = t.size(2) / d, W = t.size(3) / d;
  Tensor v = ops::permute(ops::view(t, {N, C, H, d, W, d}), {0, 3, 5, 1, 2, 4});  // (N, d, d, C, H, W)
  return ops::view(ops::contiguous(v), {N * d * d, C, H, W});
}
// The inverse, written into out (N, C, H*d, W*d).
void from_subgrids(const Tensor& out, const Tensor& s, int64_t d) {
  int64_t N = out.size(0), C = out.size(1), H = out.size(2) / d, W = out.size(3) / d;
  ops::copy_(ops::permute(ops::view(out, {N, C, H, d, W, d}), {0, 3, 5, 1, 2, 4}), ops::view(s, {N, d, d, C, H, W}));
}
ops::Conv2dArgs undilated(ops::Conv2dArgs a) {
  a.dilation = {1, 1};
  a.padding = {1, 1};
  return a;
}

// Without bf16 kernels on this CPU (has_bf16_kernels), a bf16 convolution runs in float32 on the widened
// operands (exact) and each result is rounded once to its dtype: as a bf16 kernel accumulating in float32.
Tensor widened(const Tensor& t) { return t.defined() ? ops::to(t, DType::Float32) : t; }
Tensor float32_like(const Tensor& t) {
  return !t.defined() || t.dtype() == DType::Float32 ? t : ops::empty(t.shape(), DType::Float32);
}
void narrow_into(const Tensor& out, const Tensor& out32) {
  if (out.defined() && out.dtype() != DType::Float32) ops::copy_(out, out32);
}
}  // namespace

void CpuBackend::conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const ops::Conv2dArgs& a) {
  if (x.dtype() == DType::Float64) return reference_backend().conv2d(y, x, w, b, a);  // oneDNN has no float64
  if (x.dtype() == DType::BFloat16 && !has_bf16_kernels()) {
    Tensor y32 = float32_like(y);
    conv2d(y32, widened(x), widened(w), widened(b), a);
    return narrow_into(y, y32);
  }
  bool bias = b.defined();
  if (pointwise(x, w, a)) return pointwise_forward(*this, y, x, w, b, conv_key("conv_fwd 1x1", x, w, a, bias, y.dtype()));
  if (mostly_padding(x, w, a, y.size(2), y.size(3))) return taps_forward(*this, y, x, w, b, a);
  if (subgrid_winograd(x, w, a)) {
    int64_t dl = a.dilation[0];
    Tensor xs = to_subgrids(x, dl), ys = ops::empty({xs.size(0), w.size(0), xs.size(2), xs.size(3)});
    conv2d(ys, xs, w, b, undilated(a));
    return from_subgrids(y, ys, dl);
  }
  ConvDescs d = conv_descs(x, w, y, a, y.dtype());
  auto& prim = cached_primitive(conv_key("conv_fwd", x, w, a, bias, y.dtype()), [&] {
    return with_algorithm(d, [&](dnnl::algorithm algo) {
      return dnnl::primitive(dnnl::convolution_forward(forward_pd(d, algo, d.y, bias)));
    });
  });
  std::vector<PlainArg> args{{DNNL_ARG_SRC, d.x, x}, {DNNL_ARG_WEIGHTS, d.w, w}, {DNNL_ARG_DST, d.y, y, true}};
  if (bias) args.push_back({DNNL_ARG_BIAS, d.b, b});
  execute_plain(prim, args);
}

void CpuBackend::conv2d_backward(const ops::Conv2dGrads& g, const Tensor& dy, const Tensor& x, const Tensor& w,
                                 const ops::Conv2dArgs& a) {
  if (x.dtype() == DType::Float64) return reference_backend().conv2d_backward(g, dy, x, w, a);
  if (x.dtype() == DType::BFloat16 && !has_bf16_kernels()) {
    ops::Conv2dGrads g32{float32_like(g.dx), float32_like(g.dw), float32_like(g.db)};
    conv2d_backward(g32, widened(dy), widened(x), widened(w), a);
    narrow_into(g.dx, g32.dx);
    narrow_into(g.dw, g32.dw);
    return narrow_into(g.db, g32.db);
  }
  // d describes the forward as it ran but with a dy-typed output: the hint of both backward primitives.
  // The gradients (dx, dw, db) may be float32 where x, w and dy are bf16.
  DType gd = g.dx.defined() ? g.dx.dtype() : g.dw.defined() ? g.dw.dtype() : g.db.dtype();
  if (pointwise(x, w, a)) return pointwise_backward(g, dy, x, w, conv_key("conv_bwd 1x1", x, w, a, false, gd));
  if (mostly_padding(x, w, a, dy.size(2), dy.size(3)) && gd == DType::Float32) return taps_backward(*this, g, dy, x, w, a);
  if (subgrid_winograd(x, w, a) && gd == DType::Float32) {
    int64_t dl = a.dilation[0];
    Tensor xs = to_subgrids(x, dl), dys = to_subgrids(dy, dl);
    ops::Conv2dGrads gs = g;
    if (g.dx.defined()) gs.dx = ops::empty(xs.shape());
    conv2d_backward(gs, dys, xs, w, undilated(a));
    if (g.dx.defined()) from_subgrids(g.dx, gs.dx, dl);
    return;
  }
  ConvDescs d = conv_descs(x, w, dy, a, gd);
  if (g.dx.defined()) {
    memory::desc dx_md = plain_md(g.dx, "conv2d");
    auto& prim = cached_primitive(conv_key("conv_bwd_data", x, w, a, false, gd), [&] {
      return with_algorithm(d, [&](dnnl::algorithm algo) {
        using bwd = dnnl::convolution_backward_data;
        bwd::desc desc(algo, chosen(dx_md), chosen(d.w), chosen(d.y), d.stride, d.dilation,
                       d.pad_l, d.pad_r);
        return dnnl::primitive(bwd(bwd::primitive_desc(desc, dnnl_engine(), forward_pd(d, algo, d.y, false))));
      });
    });
    execute_plain(prim, {{DNNL_ARG_DIFF_SRC, dx_md, g.dx, true}, {DNNL_ARG_WEIGHTS, d.w, w},
                         {DNNL_ARG_DIFF_DST, d.y, dy}});
  }
  if (g.dw.defined() || g.db.defined()) {
    bool bias = g.db.defined();
    // oneDNN computes the bias gradient only together with the weight gradient.
    Tensor dw = g.dw.defined() ? g.dw : ops::empty(w.shape(), gd);
    memory::desc dw_md = weight_md(dw, a.groups);
    auto& prim = cached_primitive(conv_key("conv_bwd_weights", x, w, a, bias, gd), [&] {
      return with_algorithm(d, [&](dnnl::algorithm algo) {
        using bwd = dnnl::convolution_backward_weights;
        memory::desc xc = chosen(d.x), dwc = chosen(dw_md), dyc = chosen(d.y);
        auto desc = bias ? bwd::desc(algo, xc, dwc, d.b, dyc, d.stride, d.dilation, d.pad_l, d.pad_r)
                         : bwd::desc(algo, xc, dwc, dyc, d.stride, d.dilation, d.pad_l, d.pad_r);
        return dnnl::primitive(bwd(bwd::primitive_desc(desc, dnnl_engine(), forward_pd(d, algo, d.y, bias))));
      });
    });
    std::vector<PlainArg> args{{DNNL_ARG_SRC, d.x, x}, {DNNL_ARG_DIFF_WEIGHTS, dw_md, dw, true},
                               {DNNL_ARG_DIFF_DST, d.y, dy}};
    if (bias) args.push_back({DNNL_ARG_DIFF_BIAS, d.b, g.db, true});
    execute_plain(prim, args);
  }
}

}  // namespace mdp
