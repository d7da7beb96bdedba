// matmul.cpp (cpu): batched matrix products through oneDNN's matmul primitive, which takes the
// operands' strides as they are (transposed views need no copy). A batch stride of 0 is a broadcast.
// float32, bfloat16, and mixed precision (bf16 operands, float32 out: AMX / AVX512-BF16 kernels
// accumulating in float32).
#include <fmt/ranges.h>

#include <algorithm>

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
}  // namespace

void CpuBackend::matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
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
