// allocator.cpp (cuda): one caching allocator per device on plain cudaMalloc (never managed memory).
// Freed blocks go to a cache keyed by their rounded size and are handed out again for the same size;
// cudaMalloc is called only on a miss, and when it runs out of memory the cache is released and the
// call retried once. Reuse needs no synchronisation because all work on a device runs on its one
// stream (runtime.h): a block freed by the host is reused only by work queued after its last use.
// empty_cache() waits for the stream and really frees. Statistics as the CPU allocator's.
#include <map>
#include <mutex>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/runtime.h"
#include "tensor/error.h"

namespace mdp::cuda {
namespace {

class DeviceAllocator final : public Allocator {
 public:
  explicit DeviceAllocator(int device) : device_(device) {}

  void* allocate(size_t nbytes) override {
    size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.allocations++;
    void* p = nullptr;
    auto it = cache_.find(size);
    if (it != cache_.end()) {
      p = it->second;
      cache_.erase(it);
      stats_.cached_bytes -= int64_t(size);
      stats_.cache_hits++;
    } else {
      context(device_);  // makes the device current
      cudaError_t e = cudaMalloc(&p, size);
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        release_cache_locked();
        e = cudaMalloc(&p, size);
      }
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        throw Error(fmt::format("cuda allocator: out of memory on cuda:{} allocating {} bytes ({} bytes in use by "
                                "tensors, cache released)", device_, size, stats_.current_bytes));
      }
      MDP_CUDA_CHECK(e);
    }
    stats_.current_bytes += int64_t(size);
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.current_bytes -= int64_t(size);
    cache_.emplace(size, p);
    stats_.cached_bytes += int64_t(size);
  }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes = stats_.current_bytes;
  }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_cache_locked();
  }

 private:
  static size_t round_up(size_t n) { return n == 0 ? 512 : (n + 511) / 512 * 512; }
  void release_cache_locked() {
    if (cache_.empty()) return;
    MDP_CUDA_CHECK(cudaStreamSynchronize(context(device_).stream));  // nothing queued still uses a block
    for (auto& [size, p] : cache_) MDP_CUDA_CHECK(cudaFree(p));
    cache_.clear();
    stats_.cached_bytes = 0;
  }

  int device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;  // rounded size -> free block
  MemoryStats stats_;
};

}  // namespace

Allocator& device_allocator(int device) {
  static std::mutex mu;
  static auto* allocators = new std::vector<DeviceAllocator*>();  // never destroyed, as the contexts
  {
    // The common case (every Storage's construction and destruction) makes no CUDA call.
    std::lock_guard<std::mutex> lock(mu);
    if (device >= 0 && size_t(device) < allocators->size() && (*allocators)[size_t(device)])
      return *(*allocators)[size_t(device)];
  }
  context(device);  // throws naming the device when there is no such device
  std::lock_guard<std::mutex> lock(mu);
  if (allocators->empty()) allocators->resize(size_t(device_count()), nullptr);
  DeviceAllocator*& a = (*allocators)[size_t(device)];
  if (!a) a = new DeviceAllocator(device);
  return *a;
}

}  // namespace mdp::cuda
