// dnnl_context.h: the one oneDNN engine and stream of the CPU backend, memory descriptors for our
// tensors, and a cache of primitives keyed by a string of shapes and arguments. Included only by the
// CPU backend's .cpp files, so dnnl.hpp stays out of every other translation unit.
#pragma once
#include <dnnl.hpp>
#include <functional>
#include <string>

#include "../tensor.h"

namespace mdp::cpu {

dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();
dnnl::memory::data_type dnnl_type(DType t, const char* op);        // throws for dtypes oneDNN lacks
dnnl::memory::desc plain_md(const Tensor& t, const char* op);        // dims and strides as they are
dnnl::memory::desc plain_md(const Tensor& t, const dnnl::memory::dims& dims, const char* op);  // same bytes, other dims
dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t);  // a memory over t's data (no copy)

// Whether oneDNN has bfloat16 kernels on this CPU (2.6 needs AVX-512; an AVX2 machine has none): asked
// once, by building a small bf16 matmul. Without them the backend widens bf16 operands to float32.
bool has_bf16_kernels();

// Returns the cached primitive for key, building it with make() the first time.
dnnl::primitive& cached_primitive(const std::string& key, const std::function<dnnl::primitive()>& make);

// One argument of a primitive: the tensor and its plain descriptor (plain_md). An argument whose layout
// the primitive chose itself (format_tag::any: the blocked / channels-last layouts of oneDNN's AMX and
// AVX-512 bf16 kernels) goes through a scratch buffer, reordered in for inputs and back for outputs.
struct PlainArg {
  int arg;
  dnnl::memory::desc md;
  Tensor t;
  bool output = false;
};
void execute_plain(const dnnl::primitive& prim, const std::vector<PlainArg>& args);

}  // namespace mdp::cpu
