// allocator.cpp: the caching, 64-byte-aligned CPU allocator (the CUDA one is cuda/allocator.cpp).
#include "tensor/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#include <sys/mman.h>

#include "tensor/error.h"
#include "tensor/cuda_plugin.h"

namespace mdp {
namespace {

// The CPU allocator. Tensors come and go in the same sizes step after step, and fresh memory costs a
// page fault per 4 KiB on first touch, so freed blocks are kept and reused:
// - a request takes the smallest cached block that fits, if that wastes at most a quarter of it
//   (best fit: a block freed by one layer serves the next layer's slightly smaller tensor);
// - on a miss, cached blocks smaller than the request that have never been reused are given back to the
//   system first, up to its size: blocks left over from setup (weight initialisation's temporaries) or
//   from a shape seen once do not pile up, while the blocks that serve every step stay;
// - blocks of 256 KiB and more are mapped and unmapped directly (mmap), so what is given back leaves
//   the process at once instead of staying in malloc's heap.
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.allocations++;
    void* p = nullptr;
    size_t block = size;
    auto it = size >= kMinCached ? cache_.lower_bound(size) : cache_.end();  // the smallest block that fits
    bool reused = false;
    if (it != cache_.end() && it->first - size <= it->first / 4) {
      p = it->second.p;
      block = it->first;
      reused = true;
      cache_.erase(it);
      stats_.cached_bytes -= int64_t(block);
      stats_.cache_hits++;
    } else {
      if (size >= kMinCached) release_locked(size, size, false);
      p = system_alloc(size);
      if (!p) {
        release_locked(SIZE_MAX, SIZE_MAX, true);
        p = system_alloc(size);
      }
      MDP_CHECK(p, "cpu allocator: out of memory allocating {} bytes ({} bytes already in use)", size,
                stats_.current_bytes);
    }
    if (block >= kMinCached) in_use_.emplace(p, Block{p, block, reused});
    stats_.current_bytes += int64_t(block);
    if (stats_.current_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.current_bytes;
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_use_.find(p);
    if (it == in_use_.end()) {  // small blocks go straight back to malloc
      stats_.current_bytes -= int64_t(round_up(nbytes));
      std::free(p);
      return;
    }
    Block b = it->second;
    in_use_.erase(it);
    stats_.current_bytes -= int64_t(b.size);
    cache_.emplace(b.size, b);
    stats_.cached_bytes += int64_t(b.size);
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
    release_locked(SIZE_MAX, SIZE_MAX, true);
  }

 private:
  static constexpr size_t kMinCached = 4096;   // smaller blocks are not cached
  static constexpr size_t kMapped = 256 << 10;  // blocks from mmap from this size on
  static size_t round_up(size_t n) {
    if (n >= kMapped) return (n + 4095) / 4096 * 4096;
    return n == 0 ? 64 : (n + 63) / 64 * 64;
  }
  static void* system_alloc(size_t size) {
    if (size < kMapped) return std::aligned_alloc(64, size);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  static void system_free(void* p, size_t size) {
    if (size < kMapped) std::free(p);
    else munmap(p, size);
  }
  struct Block {
    void* p;
    size_t size;
    bool reused;  // served a request after it was first freed
  };
  // Gives cached blocks smaller than `below` (only those never reused, unless `all`) back to the
  // system, largest first, until `amount` bytes.
  void release_locked(size_t below, size_t amount, bool all) {
    size_t freed = 0;
    auto it = cache_.lower_bound(below);
    while (freed < amount && it != cache_.begin()) {
      --it;
      if (!all && it->second.reused) continue;
      system_free(it->second.p, it->first);
      freed += it->first;
      stats_.cached_bytes -= int64_t(it->first);
      it = cache_.erase(it);
    }
  }

  mutable std::mutex mu_;
  std::multimap<size_t, Block> cache_;       // block size -> free block
  std::unordered_map<void*, Block> in_use_;  // blocks of cached sizes in use
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
