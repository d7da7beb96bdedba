// cuda_plugin.cpp: finds and loads libmdp_cuda.so (see cuda_plugin.h).
#include "tensor/cuda_plugin.h"

#include <dlfcn.h>
#include <fmt/core.h>

#include <filesystem>

namespace mdp {

const CudaPlugin* cuda_plugin(std::string* why) {
  static std::string error;
  static const CudaPlugin* plugin = []() -> const CudaPlugin* {
#ifndef MDP_CUDA_PLUGIN
    error = "this build of mdp has no CUDA backend (CUDA toolkit or cuDNN was not found at configure time)";
    return nullptr;
#else
    // The plugin sits next to this library (CMake puts both in <build>/lib).
    Dl_info self{};
    if (!dladdr(reinterpret_cast<void*>(&cuda_plugin), &self) || !self.dli_fname) {
      error = "cannot locate libmdp_tensor.so to find the CUDA backend next to it";
      return nullptr;
    }
    std::string path = (std::filesystem::path(self.dli_fname).parent_path() / MDP_CUDA_PLUGIN).string();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      error = fmt::format("cannot load the CUDA backend {}: {}", path, dlerror());
      return nullptr;
    }
    auto entry = reinterpret_cast<const CudaPlugin* (*)()>(dlsym(handle, "mdp_cuda_plugin"));
    if (!entry) {
      error = fmt::format("{} has no mdp_cuda_plugin entry point", path);
      return nullptr;
    }
    return entry();
#endif
  }();
  if (!plugin && why) *why = error;
  return plugin;
}

}  // namespace mdp
