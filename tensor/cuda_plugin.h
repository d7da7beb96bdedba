// cuda_plugin.h: how the tensor library reaches the CUDA backend. With CUDA, cuda/ is built as its own
// shared library (libmdp_cuda.so, next to libmdp_tensor.so), which is loaded with dlopen the first time
// a CUDA device is used or asked about. So a CPU-only run never maps cuBLAS and cuDNN, whose loading
// alone costs about 200 MB of resident memory and a slower start. Not an extension API: the one plugin
// is the project's own cuda/ directory (cuda/plugin.cpp).
#pragma once
#include <string>

namespace mdp {

class Allocator;
class Backend;
class Tensor;

// NCCL collectives on CUDA tensors (cuda/nccl.cpp), for the distributed world (nn/distributed.h), which
// passes the unique id between the processes over MPI. NCCL itself (libnccl.so.2) is loaded on first
// use, so the plugin works where it is missing. The operations run on the device's stream, in order with
// the backend's kernels. A communicator is an opaque handle.
struct CudaCollectives {
  bool (*available)(std::string* why);  // libnccl.so.2 loads
  std::string (*unique_id)();           // made on rank 0, 128 bytes, sent to every rank
  void* (*init)(const std::string& unique_id, int rank, int size, int device);
  void (*all_reduce_sum)(void* comm, const Tensor& t);         // in place; float32, float64, int64, uint8
  void (*broadcast)(void* comm, const Tensor& t, int root);    // in place
  void (*all_gather)(void* comm, const Tensor& in, const Tensor& out);  // out: size x in's elements
  void (*destroy)(void* comm);
};

struct CudaPlugin {
  bool (*available)(std::string* why);  // a usable device and driver
  Allocator& (*allocator)(int device);  // throws naming the device when it does not exist
  Backend& (*backend)();
  const CudaCollectives* nccl;          // null when built without NCCL's header
};

// The CUDA backend, loaded on the first call; null when this build has none or it fails to load, with
// the reason in *why.
const CudaPlugin* cuda_plugin(std::string* why = nullptr);

}  // namespace mdp
