// dnnl_context.cpp: engine, stream, descriptors and the primitive cache of the CPU backend.
#include "tensor/cpu/dnnl_context.h"

#include <mutex>
#include <unordered_map>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace mdp::cpu {

dnnl::engine& dnnl_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

bool has_bf16_kernels() {
  static const bool has = [] {
    using dnnl::memory;
    memory::desc md({2, 2}, memory::data_type::bf16, memory::format_tag::ab);
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(md, md, md), dnnl_engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return has;
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

void execute_plain(const dnnl::primitive& prim, const std::vector<PlainArg>& args) {
  std::unordered_map<int, dnnl::memory> exec;
  std::vector<std::pair<dnnl::memory, dnnl::memory>> write_back;  // (chosen layout, plain)
  std::vector<Tensor> scratch;
  for (const PlainArg& a : args) {
    dnnl::memory plain = wrap(a.md, a.t);
    dnnl::memory::desc want(*dnnl_primitive_desc_query_md(prim.get_primitive_desc(), dnnl_query_exec_arg_md, a.arg));
    if (want == a.md) {
      exec.emplace(a.arg, plain);
      continue;
    }
    scratch.push_back(ops::empty({int64_t(want.get_size())}, DType::UInt8));
    dnnl::memory staged(want, dnnl_engine(), scratch.back().raw_data());
    if (a.output) write_back.emplace_back(staged, plain);
    else dnnl::reorder(plain, staged).execute(dnnl_stream(), plain, staged);
    exec.emplace(a.arg, staged);
  }
  prim.execute(dnnl_stream(), exec);
  for (auto& [staged, plain] : write_back) dnnl::reorder(staged, plain).execute(dnnl_stream(), staged, plain);
  dnnl_stream().wait();
}

}  // namespace mdp::cpu
