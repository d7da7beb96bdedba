// allocator.h: device memory for tensor storage. The CPU allocator hands out 64-byte-aligned blocks and
// keeps freed blocks in a cache for reuse (best fit; see allocator.cpp for what it gives back and when);
// every allocator counts current, peak and cached bytes, which the benchmarks report. Not a
// general-purpose malloc: blocks are big and few.
#pragma once
#include <cstddef>
#include <cstdint>
#include "device.h"

namespace mdp {

struct MemoryStats {
  int64_t current_bytes = 0;   // held by live tensors
  int64_t peak_bytes = 0;      // max of current_bytes since start or reset_peak()
  int64_t cached_bytes = 0;    // freed blocks kept for reuse
  int64_t allocations = 0;     // calls to allocate()
  int64_t cache_hits = 0;      // allocate() served from the cache
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
  virtual void empty_cache() = 0;  // return cached blocks to the system
};

// The allocator for a device: for CUDA devices the caching allocator of cuda/allocator.cpp when the CUDA
// backend is built (otherwise an error naming the device).
Allocator& allocator_for(Device d);
bool cuda_backend_available();  // the CUDA backend is built and a device is present

}  // namespace mdp
