// matmul.cpp (cpu): batched matrix products through oneDNN's matmul primitive, which takes the
// operands' strides as they are (transposed views need no copy). A batch stride of 0 is a broadcast.
// float32, bfloat16, and mixed precision (bf16 operands, float32 out: AMX / AVX512-BF16 kernels
// accumulating in float32); on a CPU without bf16 kernels (AVX2), in float32 on the widened operands;
// float64 through the reference backend's loops.
#include <fmt/ranges.h>

#include <algorithm>

#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/dnnl_context.h"

namespace mdp {
using namespace cpu;
using dnnl::memory;

namespace {
memory::desc operand_md(const Tensor& t) {
  memory::dims dims(t.shape().begin(), t.shape().end()), st(t.strides().begin(), t.strides().end());
  if (st[0] == 0) {  // broadcast batch: one matrix, with a batch stride past it (a 0 stride reads as a
    dims[0] = 1;      // transposed layout to oneDNN, which then falls back to its reference kernel)
    st[0] = std::max(st[1] * (dims[1] - 1) + st[2] * (dims[2] - 1) + 1, int64_t(1));
  }
  return memory::desc(dims, dnnl_type(t.dtype(), "matmul"), st);
}

// oneDNN takes a plain or a transposed matrix (one of the two matrix strides 1); any other view (every
// other column of every other row, say) is copied dense first.
Tensor dnnl_operand(const Tensor& t) {
  const int64_t n = t.dim();
  return t.strides()[size_t(n - 1)] == 1 || t.strides()[size_t(n - 2)] == 1 ? t : ops::contiguous(t);
}
}  // namespace

void CpuBackend::matmul(const Tensor& out, const Tensor& a_view, const Tensor& b_view) {
  if (a_view.dtype() == DType::Float64) return reference_backend().matmul(out, a_view, b_view);  // oneDNN has no float64
  const Tensor a = dnnl_operand(a_view), b = dnnl_operand(b_view);
  if (a.dtype() == DType::BFloat16 && !has_bf16_kernels()) {
    // No bf16 kernels on this CPU: the float32 product of the widened operands (exact: bf16 is a prefix
    // of float32), rounded once to out's dtype, the values a bf16 kernel accumulating in float32 gives.
    Tensor out32 = out.dtype() == DType::Float32 ? out : ops::empty(out.shape(), DType::Float32);
    matmul(out32, ops::to(a, DType::Float32), ops::to(b, DType::Float32));
    if (out.dtype() != DType::Float32) ops::copy_(out, out32);
    return;
  }
  memory::desc amd = operand_md(a), bmd = operand_md(b), omd = plain_md(out, "matmul");
  std::string key = fmt::format("matmul {} {} {} {} {} {} {}", a.shape(), a.strides(), b.shape(), b.strides(),
                                out.shape(), int(a.dtype()), int(out.dtype()));
  auto& prim = cached_primitive(key, [&] {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(amd, bmd, omd), dnnl_engine());
    return dnnl::primitive(dnnl::matmul(pd));
  });
  prim.execute(dnnl_stream(), {{DNNL_ARG_SRC, wrap(amd, a)}, {DNNL_ARG_WEIGHTS, wrap(bmd, b)}, {DNNL_ARG_DST, wrap(omd, out)}});
  dnnl_stream().wait();
}

}  // namespace mdp
