// allocator.cpp: the caching, 64-byte-aligned CPU allocator.
#include "tensor/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "tensor/error.h"
#include "tensor/cuda_plugin.h"

namespace mdp {
namespace {

class CpuAllocator final : public Allocator {
 public:
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
      p = std::aligned_alloc(64, size);
      if (!p) {
        release_cache_locked();
        p = std::aligned_alloc(64, size);
      }
      MDP_CHECK(p, "cpu allocator: out of memory allocating {} bytes ({} bytes already in use)", size,
                stats_.current_bytes);
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
    if (size < kMinCached) {
      std::free(p);
      return;
    }
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
  static constexpr size_t kMinCached = 4096;  // small blocks go straight back to malloc
  static size_t round_up(size_t n) { return n == 0 ? 64 : (n + 63) / 64 * 64; }
  void release_cache_locked() {
    for (auto& [size, p] : cache_) std::free(p);
    cache_.clear();
    stats_.cached_bytes = 0;
  }

  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;  // exact rounded size -> free block
  MemoryStats stats_;
};

}  // namespace

Allocator& allocator_for(Device d) {
  static CpuAllocator* cpu = new CpuAllocator();  // never destroyed: tensors may outlive static dtors
  if (d.is_cpu()) return *cpu;
  std::string why;
  if (const CudaPlugin* plugin = cuda_plugin(&why)) return plugin->allocator(d.index);  // one per device
  throw Error(fmt::format("device {}: {}", d.str(), why));
}

bool cuda_backend_available() {
  const CudaPlugin* plugin = cuda_plugin();
  return plugin && plugin->available(nullptr);
}

}  // namespace mdp
