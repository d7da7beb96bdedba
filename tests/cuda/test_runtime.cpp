// Suite runtime: host<->device copies (every dtype, strided both ways, larger than the staging buffers,
// size 0), the caching allocator's statistics, the errors of the CUDA backend: failing CUDA calls
// named with file and line, missing devices, bad labels and indices found by kernels; and the NCCL
// collectives of the plugin on a communicator of one rank (the distributed world's CUDA path).
#include <boost/test/unit_test.hpp>

#include "cuda/cuda_backend.h"
#include "cuda/runtime.h"
#include "tensor/allocator.h"
#include "tensor/cuda_plugin.h"
#include "tensor/error.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
const Device kGpu = Device::cuda(0);
}

BOOST_AUTO_TEST_SUITE(runtime)

BOOST_AUTO_TEST_CASE(devices) {
  BOOST_TEST(cuda::cuda_available());
  BOOST_TEST(cuda::device_count() >= 1);
  BOOST_TEST(cuda_backend_available());
  Tensor t = ops::ones({3}, DType::Float32, kGpu);
  BOOST_TEST(t.device().str() == "cuda:0");
  cuda::synchronize(0);
}

BOOST_AUTO_TEST_CASE(round_trips) {
  Tensor x = randn({3, 5, 7}, DType::Float64, 1);
  for (DType dt : {DType::Float32, DType::Float64, DType::BFloat16, DType::Int64, DType::Int32, DType::UInt8, DType::Bool}) {
    Tensor h = ops::to(ops::mul(x, 50.0), dt);
    Tensor g = ops::to(h, kGpu);
    BOOST_TEST(g.device().is_cuda());
    Tensor back = ops::to(g, Device::cpu());
    BOOST_TEST(back.device().is_cpu());
    close(back, h, 0, 0, std::string("round trip ") + dtype_name(dt));
    // strided source on the host, strided destination on the device and on the host
    close(ops::to(ops::to(ops::transpose(h, 0, 2), kGpu), Device::cpu()), ops::transpose(h, 0, 2), 0, 0, "strided host source");
    Tensor gd = ops::zeros({7, 5, 3}, dt, kGpu);
    ops::copy_(ops::transpose(gd, 0, 2), h);
    close(ops::transpose(gd, 0, 2), h, 0, 0, "strided device destination");
    Tensor hd = ops::zeros({7, 5, 3}, dt);
    ops::copy_(ops::transpose(hd, 0, 2), g);
    close(ops::transpose(hd, 0, 2), h, 0, 0, "strided host destination");
  }
  // dtype conversion across devices, both ways
  Tensor g32 = ops::empty({3, 5, 7}, DType::Float32, kGpu);
  ops::copy_(g32, x);
  close(g32, ops::to(x, DType::Float32), 0, 0, "float64 host -> float32 device");
  Tensor h64 = ops::empty({3, 5, 7}, DType::Float64);
  ops::copy_(h64, g32);
  close(h64, ops::to(ops::to(x, DType::Float32), DType::Float64), 0, 0, "float32 device -> float64 host");
  // more than the two 8 MiB staging buffers, and nothing at all
  Tensor big = ops::arange(0, 5e6, 1, DType::Float32);
  close(ops::to(ops::to(big, kGpu), Device::cpu()), big, 0, 0, "20 MB round trip");
  Tensor none = ops::to(ops::empty({0, 4}), kGpu);
  BOOST_TEST(ops::to(none, Device::cpu()).numel() == 0);
  BOOST_TEST(ops::to_vector(ops::full({2, 2}, 3.5, DType::Float32, kGpu)) == std::vector<double>(4, 3.5));
  BOOST_TEST(ops::scalar_tensor(4.25, DType::Float64, kGpu).item() == 4.25);
}

BOOST_AUTO_TEST_CASE(allocator_statistics) {
  Allocator& a = allocator_for(kGpu);
  cuda::synchronize(0);
  a.empty_cache();
  MemoryStats s0 = a.stats();
  BOOST_TEST(s0.cached_bytes == 0);
  const int64_t bytes = int64_t(4) << 20;
  {
    Tensor t = ops::empty({bytes / 4}, DType::Float32, kGpu);
    MemoryStats s1 = a.stats();
    BOOST_TEST(s1.current_bytes == s0.current_bytes + bytes);
    BOOST_TEST(s1.peak_bytes >= s1.current_bytes);
    BOOST_TEST(s1.allocations == s0.allocations + 1);
  }
  MemoryStats s2 = a.stats();
  BOOST_TEST(s2.current_bytes == s0.current_bytes);
  BOOST_TEST(s2.cached_bytes == bytes);
  {
    Tensor t = ops::empty({bytes / 4}, DType::Float32, kGpu);  // the same size: served from the cache
    MemoryStats s3 = a.stats();
    BOOST_TEST(s3.cache_hits == s2.cache_hits + 1);
    BOOST_TEST(s3.cached_bytes == 0);
  }
  a.reset_peak();
  BOOST_TEST(a.stats().peak_bytes == a.stats().current_bytes);
  a.empty_cache();
  BOOST_TEST(a.stats().cached_bytes == 0);
  // the CPU allocator is a different one
  BOOST_TEST(&allocator_for(Device::cpu()) != &a);
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_TEST(throws_with([] { MDP_CUDA_CHECK(cudaSetDevice(cuda::device_count() + 5)); },
                         {"CUDA call cudaSetDevice(cuda::device_count() + 5) failed", "test_runtime.cpp:", "cudaErrorInvalidDevice"}));
  BOOST_TEST(throws_with([] { ops::empty({2}, DType::Float32, Device::cuda(99)); }, {"cuda:99", "no such device"}));
  BOOST_TEST(throws_with([] { ops::add(ops::ones({2}, DType::Float32, kGpu), ops::ones({2})); }, {"different devices", "cuda:0", "cpu"}));
  Tensor logits = ops::zeros({2, 5, 3}, DType::Float32, kGpu);
  Tensor target = ops::to(ops::from_vector({1, 2, 255, 0, 7, 4}, {2, 3}, DType::Int64), kGpu);
  BOOST_TEST(throws_with([&] { ops::cross_entropy(logits, target, Tensor()); },
                         {"cross_entropy", "target value 7", "flat index 4", "5 classes"}));
  BOOST_TEST(throws_with([&] { ops::cross_entropy_backward(ops::scalar_tensor(1.0, DType::Float32, kGpu), logits, target, Tensor()); },
                         {"cross_entropy_backward", "target value 7"}));
  Tensor x = ops::zeros({4, 6}, DType::Float32, kGpu);
  Tensor bad = ops::to(ops::from_vector({0, 9, 1, -2}, {2, 2}, DType::Int64), kGpu);
  BOOST_TEST(throws_with([&] { ops::gather(x, 1, bad); }, {"gather: index 9 is out of range for a dim of size 6"}));
  BOOST_TEST(throws_with([&] { ops::index_select(x, 0, ops::reshape(bad, {4})); }, {"index_select: index 9", "size 4"}));
  BOOST_TEST(throws_with([&] { ops::one_hot(bad, 5); }, {"one_hot: index 9"}));
  BOOST_TEST(throws_with([&] { ops::scatter_add({4, 6}, 1, ops::zeros({1, 1}, DType::Int64, kGpu), ops::zeros({1, 1}, DType::Int64, kGpu)); },
                         {"scatter_add", "int64", "cuda"}));
  // the error slot is cleared for the next call
  Tensor ok = ops::to(ops::from_vector({0, 5, 1, 2}, {2, 2}, DType::Int64), kGpu);
  BOOST_TEST(ops::gather(x, 1, ok).numel() == 4);
  BOOST_TEST(ops::cross_entropy(logits, ops::zeros({2, 3}, DType::Int64, kGpu), Tensor()).item() > 0);
}

// NCCL through the plugin, as nn/distributed.cpp uses it, on a world of one GPU: the unique id, the
// communicator, and each collective leaving (or gathering) the values as a one-rank world must.
BOOST_AUTO_TEST_CASE(nccl_collectives_on_one_rank) {
  const CudaPlugin* plugin = cuda_plugin();
  BOOST_TEST_REQUIRE(plugin != nullptr);
  if (!plugin->nccl) {
    BOOST_TEST_MESSAGE("SKIPPED nccl: this build has no nccl.h");
    return;
  }
  std::string why;
  if (!plugin->nccl->available(&why)) {
    BOOST_TEST_MESSAGE("SKIPPED nccl: " << why);
    return;
  }
  const CudaCollectives& n = *plugin->nccl;
  std::string id = n.unique_id();
  BOOST_TEST(id.size() == 128u);
  void* comm = n.init(id, 0, 1, 0);
  Tensor x = ops::to(randn({5, 3}, DType::Float32, 3), kGpu);
  Tensor before = ops::to(x, Device::cpu());
  n.all_reduce_sum(comm, x);
  close(ops::to(x, Device::cpu()), before, 0, 0, "all_reduce_sum of one rank");
  n.broadcast(comm, x, 0);
  close(ops::to(x, Device::cpu()), before, 0, 0, "broadcast from rank 0");
  Tensor out = ops::zeros({5, 3}, DType::Float32, kGpu);
  n.all_gather(comm, x, out);
  close(ops::to(out, Device::cpu()), before, 0, 0, "all_gather of one rank");
  Tensor cpu = ops::ones({2});
  BOOST_CHECK_THROW(n.all_reduce_sum(comm, cpu), Error);  // names the device
  n.destroy(comm);
}

BOOST_AUTO_TEST_SUITE_END()
