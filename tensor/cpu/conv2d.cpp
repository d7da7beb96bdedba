// conv2d.cpp (cpu): convolution forward, backward-data and backward-weights (with bias gradient)
// through oneDNN, on plain NCHW / (G)OIHW tensors, primitives cached by shape and arguments.
#include <fmt/ranges.h>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dnnl_context.h"

namespace mdp {
using namespace cpu;
using dnnl::memory;

namespace {
struct ConvDescs {
  memory::desc x, w, b, y;
  memory::dims stride, dilation, pad_l, pad_r;
};

ConvDescs conv_descs(const Tensor& x, const Tensor& w, const Tensor& y, const ops::Conv2dArgs& a) {
  ConvDescs d;
  d.x = plain_md(x, "conv2d");
  d.y = plain_md(y, "conv2d");
  if (a.groups == 1) d.w = plain_md(w, "conv2d");
  else d.w = plain_md(w, {a.groups, w.size(0) / a.groups, w.size(1), w.size(2), w.size(3)}, "conv2d");
  d.b = memory::desc({w.size(0)}, dnnl_type(x.dtype(), "conv2d"), memory::format_tag::a);
  d.stride = {a.stride[0], a.stride[1]};
  d.dilation = {a.dilation[0] - 1, a.dilation[1] - 1};  // oneDNN counts dilation from 0
  d.pad_l = {a.padding[0], a.padding[1]};
  // Right padding that makes oneDNN's output size equal ours (floor division, as PyTorch).
  d.pad_r = {(y.size(2) - 1) * a.stride[0] + (w.size(2) - 1) * a.dilation[0] + 1 - x.size(2) - a.padding[0],
             (y.size(3) - 1) * a.stride[1] + (w.size(3) - 1) * a.dilation[1] + 1 - x.size(3) - a.padding[1]};
  return d;
}

std::string conv_key(const char* what, const Tensor& x, const Tensor& w, const ops::Conv2dArgs& a, bool bias) {
  return fmt::format("{} {} {} {} {} {} {} {} {}", what, x.shape(), w.shape(), a.stride, a.padding, a.dilation,
                     a.groups, bias, int(x.dtype()));
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, bool bias) {
  using fwd = dnnl::convolution_forward;
  auto desc = bias ? fwd::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.x, d.w, d.b,
                               d.y, d.stride, d.dilation, d.pad_l, d.pad_r)
                   : fwd::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.x, d.w, d.y,
                               d.stride, d.dilation, d.pad_l, d.pad_r);
  return fwd::primitive_desc(desc, dnnl_engine());
}
}  // namespace

void CpuBackend::conv2d(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const ops::Conv2dArgs& a) {
  ConvDescs d = conv_descs(x, w, y, a);
  bool bias = b.defined();
  auto& prim = cached_primitive(conv_key("conv_fwd", x, w, a, bias),
                                [&] { return dnnl::primitive(dnnl::convolution_forward(forward_pd(d, bias))); });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(d.x, x)}, {DNNL_ARG_WEIGHTS, wrap(d.w, w)},
                                       {DNNL_ARG_DST, wrap(d.y, y)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(d.b, b));
  prim.execute(dnnl_stream(), args);
  dnnl_stream().wait();
}

void CpuBackend::conv2d_backward(const ops::Conv2dGrads& g, const Tensor& dy, const Tensor& x, const Tensor& w,
                                 const ops::Conv2dArgs& a) {
  ConvDescs d = conv_descs(x, w, dy, a);
  if (g.dx.defined()) {
    auto& prim = cached_primitive(conv_key("conv_bwd_data", x, w, a, false), [&] {
      using bwd = dnnl::convolution_backward_data;
      bwd::desc desc(dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.stride, d.dilation, d.pad_l, d.pad_r);
      return dnnl::primitive(bwd(bwd::primitive_desc(desc, dnnl_engine(), forward_pd(d, false))));
    });
    prim.execute(dnnl_stream(), {{DNNL_ARG_DIFF_SRC, wrap(d.x, g.dx)}, {DNNL_ARG_WEIGHTS, wrap(d.w, w)},
                                 {DNNL_ARG_DIFF_DST, wrap(d.y, dy)}});
  }
  if (g.dw.defined() || g.db.defined()) {
    bool bias = g.db.defined();
    // oneDNN computes the bias gradient only together with the weight gradient.
    Tensor dw = g.dw.defined() ? g.dw : ops::empty_like(w);
    auto& prim = cached_primitive(conv_key("conv_bwd_weights", x, w, a, bias), [&] {
      using bwd = dnnl::convolution_backward_weights;
      auto desc = bias ? bwd::desc(dnnl::algorithm::convolution_direct, d.x, d.w, d.b, d.y, d.stride, d.dilation,
                                   d.pad_l, d.pad_r)
                       : bwd::desc(dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.stride, d.dilation, d.pad_l,
                                   d.pad_r);
      return dnnl::primitive(bwd(bwd::primitive_desc(desc, dnnl_engine(), forward_pd(d, bias))));
    });
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(d.x, x)}, {DNNL_ARG_DIFF_WEIGHTS, wrap(d.w, dw)},
                                         {DNNL_ARG_DIFF_DST, wrap(d.y, dy)}};
    if (bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(d.b, g.db));
    prim.execute(dnnl_stream(), args);
  }
  dnnl_stream().wait();
}

}  // namespace mdp
