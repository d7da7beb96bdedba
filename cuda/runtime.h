// runtime.h: the CUDA side of the backend, for the files in cuda/ only (tensor/ never sees CUDA
// headers). Error checks that name the failing call, one Context per device (its stream, cuDNN and
// cuBLAS handles bound to that stream, pinned staging buffers for host<->device copies, the cuDNN
// workspace, an error slot that kernels use to report bad indices), all created on first use.
// Every kernel, copy and library call of the backend goes to the device's one stream, so work on a
// device runs in issue order and the caching allocator can hand a freed block to the next op at once.
// One host thread at a time is expected to drive a device (the error slot and workspace are shared).
// Kernel faults surface at the next synchronising call; CUDA_LAUNCH_BLOCKING=1 pins them to the launch.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "../tensor/tensor.h"

namespace mdp::cuda {

// Throws mdp::Error(msg). Declared here so that .cu files need not include fmt (nvcc's front end
// rejects fmt's compile-time format checks).
[[noreturn]] void throw_error(const std::string& msg);
[[noreturn]] void fail_cuda(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void fail_cudnn(cudnnStatus_t s, const char* call, const char* file, int line);
[[noreturn]] void fail_cublas(cublasStatus_t s, const char* call, const char* file, int line);

}  // namespace mdp::cuda

// "CUDA call cudaMalloc(&p, n) failed at cuda/allocator.cpp:42: out of memory (cudaErrorMemoryAllocation)"
#define MDP_CUDA_CHECK(call)                                                         \
  do {                                                                               \
    cudaError_t mdp_e_ = (call);                                                     \
    if (mdp_e_ != cudaSuccess) ::mdp::cuda::fail_cuda(mdp_e_, #call, __FILE__, __LINE__); \
  } while (0)
#define MDP_CUDNN_CHECK(call)                                                                    \
  do {                                                                                           \
    cudnnStatus_t mdp_s_ = (call);                                                               \
    if (mdp_s_ != CUDNN_STATUS_SUCCESS) ::mdp::cuda::fail_cudnn(mdp_s_, #call, __FILE__, __LINE__); \
  } while (0)
#define MDP_CUBLAS_CHECK(call)                                                                     \
  do {                                                                                             \
    cublasStatus_t mdp_s_ = (call);                                                                \
    if (mdp_s_ != CUBLAS_STATUS_SUCCESS) ::mdp::cuda::fail_cublas(mdp_s_, #call, __FILE__, __LINE__); \
  } while (0)

namespace mdp::cuda {

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn();     // created on first use, bound to stream
  cublasHandle_t cublas();   // created on first use, bound to stream

  // Copies between host memory (any, pageable) and device memory through two pinned staging buffers.
  // Host to device returns before the copy is done (the source has been staged by then); device to
  // host waits for it.
  void to_device(void* dst, const void* src, size_t nbytes);
  void to_host(void* dst, const void* src, size_t nbytes);

  // The cuDNN workspace: one block per device, grown when a call needs more, reused by every call.
  void* workspace(size_t nbytes);

  // The error slot: a device word that kernels lower with atomicMin to the first offending position.
  // reset_error() clears it (asynchronously); first_error() waits for the stream and returns the
  // position, or -1 when no kernel reported one.
  unsigned long long* reset_error();
  int64_t first_error();

  explicit Context(int device);

 private:
  static constexpr size_t kStagingBytes = size_t(8) << 20;  // per staging buffer
  std::mutex mu_;                 // staging buffers, workspace and lazy handles
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  void* staging_[2] = {nullptr, nullptr};
  cudaEvent_t staged_[2] = {nullptr, nullptr};  // recorded after the copy out of staging_[i]
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  unsigned long long* error_ = nullptr;
};

// The device's context, after making it the calling thread's current device. Contexts live until exit.
Context& context(int device);
inline Context& context(const Tensor& t) { return context(t.device().index); }

}  // namespace mdp::cuda
