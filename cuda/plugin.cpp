// plugin.cpp: the entry point through which libmdp_tensor.so reaches this backend once it has loaded
// libmdp_cuda.so (tensor/cuda_plugin.h).
#include "cuda/cuda_backend.h"
#include "tensor/cuda_plugin.h"

#ifdef MDP_HAVE_NCCL
namespace mdp::cuda {
const CudaCollectives* nccl_collectives();  // cuda/nccl.cpp
}
#endif

extern "C" const mdp::CudaPlugin* mdp_cuda_plugin() {
  static const mdp::CudaPlugin plugin{
      [](std::string* why) { return mdp::cuda::cuda_available(why); },
      [](int device) -> mdp::Allocator& { return mdp::cuda::device_allocator(device); },
      []() -> mdp::Backend& { return mdp::cuda::cuda_backend(); },
#ifdef MDP_HAVE_NCCL
      mdp::cuda::nccl_collectives(),
#else
      nullptr,
#endif
  };
  return &plugin;
}
