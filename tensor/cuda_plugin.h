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

struct CudaPlugin {
  bool (*available)(std::string* why);  // a usable device and driver
  Allocator& (*allocator)(int device);  // throws naming the device when it does not exist
  Backend& (*backend)();
};

// The CUDA backend, loaded on the first call; null when this build has none or it fails to load, with
// the reason in *why.
const CudaPlugin* cuda_plugin(std::string* why = nullptr);

}  // namespace mdp
