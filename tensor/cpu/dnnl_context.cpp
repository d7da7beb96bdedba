// dnnl_context.cpp: engine, stream, descriptors and the primitive cache of the CPU backend.
#include "tensor/cpu/dnnl_context.h"

#include <mutex>
#include <unordered_map>

#include "tensor/error.h"

namespace mdp::cpu {

dnnl::engine& dnnl_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& dnnl_stream() {
  static thread_local dnnl::stream s(dnnl_engine());
  return s;
}

dnnl::memory::data_type dnnl_type(DType t, const char* op) {
  switch (t) {
    case DType::Float32: return dnnl::memory::data_type::f32;
    case DType::BFloat16: return dnnl::memory::data_type::bf16;
    default:
      throw Error(fmt::format("{}: the cpu backend (oneDNN) has no {} kernel; float64 runs on the reference "
                              "backend (mdp::ReferenceScope), e.g. for gradient checks", op, dtype_name(t)));
  }
}

dnnl::memory::desc plain_md(const Tensor& t, const char* op) {
  return dnnl::memory::desc(dnnl::memory::dims(t.shape().begin(), t.shape().end()), dnnl_type(t.dtype(), op),
                            dnnl::memory::dims(t.strides().begin(), t.strides().end()));
}

dnnl::memory::desc plain_md(const Tensor& t, const dnnl::memory::dims& dims, const char* op) {
  Shape s(dims.begin(), dims.end());
  Shape st = contiguous_strides(s);
  return dnnl::memory::desc(dims, dnnl_type(t.dtype(), op), dnnl::memory::dims(st.begin(), st.end()));
}

dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, dnnl_engine(), t.raw_data());
}

dnnl::primitive& cached_primitive(const std::string& key, const std::function<dnnl::primitive()>& make) {
  static std::mutex mu;
  static std::unordered_map<std::string, dnnl::primitive> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;
}

}  // namespace mdp::cpu
