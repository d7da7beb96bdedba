// runtime.cpp: CUDA error reporting, device discovery, the per-device Context (stream, lazily created
// cuDNN/cuBLAS handles, pinned staging buffers, cuDNN workspace, kernel error slot) and the switches of
// cuda_backend.h.
#include "cuda/runtime.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <vector>

#include "cuda/cuda_backend.h"
#include "tensor/error.h"

namespace mdp::cuda {

void throw_error(const std::string& msg) { throw Error(msg); }

void fail_cuda(cudaError_t e, const char* call, const char* file, int line) {
  (void)cudaGetLastError();  // clear a non-sticky error so that the next call does not report it again
  throw Error(fmt::format("CUDA call {} failed at {}:{}: {} ({})", call, file, line, cudaGetErrorString(e),
                          cudaGetErrorName(e)));
}

void fail_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  throw Error(fmt::format("cuDNN call {} failed at {}:{}: {}", call, file, line, cudnnGetErrorString(s)));
}

void fail_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  throw Error(fmt::format("cuBLAS call {} failed at {}:{}: {}", call, file, line, cublasGetStatusString(s)));
}

namespace {
struct Probe {
  int count = 0;
  std::string why;  // why there is no device
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    cudaError_t e = cudaGetDeviceCount(&r.count);
    if (e != cudaSuccess) {
      r.count = 0;
      r.why = fmt::format("cudaGetDeviceCount: {}: {}", cudaGetErrorName(e), cudaGetErrorString(e));
      (void)cudaGetLastError();
    } else if (r.count == 0) {
      r.why = "cudaGetDeviceCount: 0 devices";
    }
    return r;
  }();
  return p;
}

std::atomic<bool> g_allow_tf32{false};
}  // namespace

bool cuda_available(std::string* why) {
  const Probe& p = probe();
  if (why) *why = p.why;
  return p.count > 0;
}

int device_count() { return probe().count; }
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }
void synchronize(int device) { MDP_CUDA_CHECK(cudaStreamSynchronize(context(device).stream)); }

Backend& cuda_backend() {
  static CudaBackend b;
  return b;
}

Context& context(int device) {
  static std::mutex mu;
  static auto* contexts = new std::vector<Context*>();  // never destroyed: tensors may outlive static dtors
  const Probe& p = probe();
  if (p.count == 0)
    throw_error(fmt::format("device cuda:{}: no CUDA backend can run here: no CUDA device ({})", device, p.why));
  if (device < 0 || device >= p.count)
    throw_error(fmt::format("device cuda:{}: no such device (this machine has {} CUDA device{})", device, p.count,
                            p.count == 1 ? "" : "s"));
  Context* c;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (contexts->empty()) contexts->resize(size_t(p.count), nullptr);
    if (!(*contexts)[size_t(device)]) (*contexts)[size_t(device)] = new Context(device);
    c = (*contexts)[size_t(device)];
  }
  MDP_CUDA_CHECK(cudaSetDevice(device));
  return *c;
}

Context::Context(int d) : device(d) {
  MDP_CUDA_CHECK(cudaSetDevice(d));
  MDP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  for (int i = 0; i < 2; ++i) {
    MDP_CUDA_CHECK(cudaMallocHost(&staging_[i], kStagingBytes));
    MDP_CUDA_CHECK(cudaEventCreateWithFlags(&staged_[i], cudaEventDisableTiming));
  }
  MDP_CUDA_CHECK(cudaMalloc(&error_, sizeof(unsigned long long)));
}

cudnnHandle_t Context::cudnn() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cudnn_) {
    MDP_CUDNN_CHECK(cudnnCreate(&cudnn_));
    MDP_CUDNN_CHECK(cudnnSetStream(cudnn_, stream));
  }
  return cudnn_;
}

cublasHandle_t Context::cublas() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cublas_) {
    MDP_CUBLAS_CHECK(cublasCreate(&cublas_));
    MDP_CUBLAS_CHECK(cublasSetStream(cublas_, stream));
  }
  return cublas_;
}

void Context::to_device(void* dst, const void* src, size_t nbytes) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t done = 0;
  for (int i = 0; done < nbytes; i ^= 1) {
    size_t chunk = std::min(kStagingBytes, nbytes - done);
    MDP_CUDA_CHECK(cudaEventSynchronize(staged_[i]));  // the last copy out of this buffer has finished
    std::memcpy(staging_[i], static_cast<const char*>(src) + done, chunk);
    MDP_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + done, staging_[i], chunk, cudaMemcpyHostToDevice, stream));
    MDP_CUDA_CHECK(cudaEventRecord(staged_[i], stream));
    done += chunk;
  }
}

void Context::to_host(void* dst, const void* src, size_t nbytes) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t done = 0; done < nbytes;) {
    size_t chunk = std::min(kStagingBytes, nbytes - done);
    // Ordered after any host-to-device copy still reading staging_[0]: both are on this stream.
    MDP_CUDA_CHECK(cudaMemcpyAsync(staging_[0], static_cast<const char*>(src) + done, chunk, cudaMemcpyDeviceToHost,
                                   stream));
    MDP_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::memcpy(static_cast<char*>(dst) + done, staging_[0], chunk);
    done += chunk;
  }
}

void* Context::workspace(size_t nbytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (nbytes > workspace_bytes_) {
    // The old block goes back to the cache; work queued on the stream that still uses it runs before
    // anything the block is handed to next.
    Allocator& a = device_allocator(device);
    if (workspace_) a.deallocate(workspace_, workspace_bytes_);
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    workspace_ = a.allocate(nbytes);
    workspace_bytes_ = nbytes;
  }
  return workspace_;
}

unsigned long long* Context::reset_error() {
  MDP_CUDA_CHECK(cudaMemsetAsync(error_, 0xff, sizeof(unsigned long long), stream));
  return error_;
}

int64_t Context::first_error() {
  unsigned long long v = 0;
  MDP_CUDA_CHECK(cudaMemcpyAsync(&v, error_, sizeof v, cudaMemcpyDeviceToHost, stream));
  MDP_CUDA_CHECK(cudaStreamSynchronize(stream));
  return v == ULLONG_MAX ? -1 : int64_t(v);
}

}  // namespace mdp::cuda
