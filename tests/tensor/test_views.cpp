// Suite views: strided views share storage, contiguous() copies, creation, dtypes, RNG, allocator.
#include <boost/test/unit_test.hpp>

#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(views)

BOOST_AUTO_TEST_CASE(views_share_storage) {
  Tensor t = ops::arange(0, 24, 1, DType::Float32);
  Tensor v = ops::view(t, {2, 3, 4});
  BOOST_TEST(v.storage() == t.storage());
  BOOST_TEST(v.at({1, 2, 3}) == 23);
  Tensor p = ops::permute(v, {2, 0, 1});
  BOOST_TEST(p.shape() == (Shape{4, 2, 3}));
  BOOST_TEST(!p.is_contiguous());
  BOOST_TEST(p.at({3, 1, 2}) == 23);
  Tensor n = ops::narrow(v, 2, 1, 2);
  BOOST_TEST(n.at({0, 0, 0}) == 1);
  Tensor s = ops::select(v, 1, 2);
  BOOST_TEST(s.shape() == (Shape{2, 4}));
  BOOST_TEST(s.at({1, 0}) == 20);
  Tensor sl = ops::slice(t, 0, 1, 10, 3);  // 1, 4, 7
  BOOST_TEST(ops::to_vector(sl) == (std::vector<double>{1, 4, 7}));
  ops::fill_(n, -1);  // writes through the view
  BOOST_TEST(t.at({1}) == -1);
  BOOST_TEST(t.at({3}) == 3);
}

BOOST_AUTO_TEST_CASE(expand_broadcast_squeeze) {
  Tensor a = ops::arange(0, 3, 1);
  Tensor e = ops::expand(ops::unsqueeze(a, 0), {4, 3});
  BOOST_TEST(e.strides()[0] == 0);
  BOOST_TEST(e.at({3, 2}) == 2);
  BOOST_TEST(ops::squeeze(ops::unsqueeze(a, 1), 1).shape() == (Shape{3}));
  BOOST_TEST(ops::broadcast_shapes({2, 1, 4}, {3, 1}, "t") == (Shape{2, 3, 4}));
  Tensor c = ops::contiguous(e);
  BOOST_TEST(c.is_contiguous());
  BOOST_TEST(c.storage() != e.storage());
  BOOST_TEST(ops::to_vector(ops::sum(c)) == std::vector<double>{12});
}

BOOST_AUTO_TEST_CASE(reshape_copies_only_when_needed) {
  Tensor t = randn({4, 6});
  BOOST_TEST(ops::reshape(t, {2, 12}).storage() == t.storage());
  Tensor tt = ops::transpose(t, 0, 1);
  BOOST_TEST(throws_with([&] { ops::view(tt, {24}); }, {"view", "reshape"}));
  Tensor r = ops::reshape(tt, {24});
  BOOST_TEST(r.storage() != t.storage());
  BOOST_TEST(r.at({1}) == t.at({1, 0}));
  BOOST_TEST(ops::reshape(t, {-1, 3}).shape() == (Shape{8, 3}));
  BOOST_TEST(ops::flatten(ops::empty({2, 3, 4}), 1).shape() == (Shape{2, 12}));
}

BOOST_AUTO_TEST_CASE(size_zero_and_scalars) {
  Tensor z = ops::zeros({0, 3});
  BOOST_TEST(z.numel() == 0);
  BOOST_TEST(ops::sum(z, {0}).shape() == (Shape{3}));
  BOOST_TEST(ops::to_vector(ops::sum(z, {0})) == (std::vector<double>{0, 0, 0}));
  BOOST_TEST(ops::add(z, z).numel() == 0);
  Tensor s = ops::scalar_tensor(2.5);
  BOOST_TEST(s.dim() == 0);
  BOOST_TEST(s.item() == 2.5);
  BOOST_TEST(ops::mul(s, ops::ones({2})).at({1}) == 2.5);
}

BOOST_AUTO_TEST_CASE(dtypes_and_bfloat16) {
  Tensor f = ops::from_vector({1.0, -2.5, 3.14159, 1e-3}, {4});
  Tensor b = ops::to(f, DType::BFloat16);
  BOOST_TEST(b.element_size() == 2u);
  auto back = ops::to_vector(b);
  BOOST_TEST(back[0] == 1.0);
  BOOST_TEST(back[1] == -2.5);
  BOOST_TEST(std::fabs(back[2] - 3.14159) < 0.02);
  BOOST_TEST(bf16(1.00390625f).bits == bf16(1.0f).bits);  // ties round to even
  Tensor i = ops::to(ops::from_vector({1.7, -2.2}, {2}), DType::Int64);
  BOOST_TEST(ops::to_vector(i) == (std::vector<double>{1, -2}));
  Tensor u = ops::to(ops::from_vector({200, 3}, {2}), DType::UInt8);
  BOOST_TEST(u.data<uint8_t>()[0] == 200);
  BOOST_TEST(throws_with([&] { u.data<float>(); }, {"uint8"}));
}

BOOST_AUTO_TEST_CASE(rng_is_reproducible) {
  Generator a(42), b(42);
  Tensor x = ops::randn({100}, DType::Float32, &a), y = ops::randn({100}, DType::Float32, &b);
  BOOST_TEST(ops::to_vector(x) == ops::to_vector(y));
  auto st = a.state();
  double u1 = a.uniform();
  a.set_state(st);
  BOOST_TEST(a.uniform() == u1);
  Tensor r = ops::rand({10000}, DType::Float64, &a);
  double m = ops::mean(r).item();
  BOOST_TEST(std::fabs(m - 0.5) < 0.02);
  Tensor n = ops::randn({10000}, DType::Float64, &a);
  BOOST_TEST(std::fabs(ops::var(n, {0}).item() - 1.0) < 0.05);
  Tensor ri = ops::randint(0, 5, {1000}, DType::Int64, &a);
  auto v = ops::to_vector(ri);
  BOOST_TEST(*std::min_element(v.begin(), v.end()) == 0);
  BOOST_TEST(*std::max_element(v.begin(), v.end()) == 4);
}

BOOST_AUTO_TEST_CASE(allocator_statistics) {
  Allocator& a = allocator_for(Device::cpu());
  a.reset_peak();
  int64_t before = a.stats().current_bytes;
  {
    Tensor t = ops::empty({1000, 100});  // 400,000 bytes
    BOOST_TEST(a.stats().current_bytes - before >= 400000);
    BOOST_TEST(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0u);
  }
  BOOST_TEST(a.stats().current_bytes == before);
  BOOST_TEST(a.stats().peak_bytes - before >= 400000);
  int64_t hits = a.stats().cache_hits;
  Tensor again = ops::empty({1000, 100});
  BOOST_TEST(a.stats().cache_hits == hits + 1);  // served from the cache
}

// The cpu allocator's cache: best fit within a quarter of waste, and on a miss the smaller blocks that
// were never reused go back to the system while reused ones stay.
BOOST_AUTO_TEST_CASE(allocator_cache_policy) {
  Allocator& a = allocator_for(Device::cpu());
  a.empty_cache();
  BOOST_TEST(a.stats().cached_bytes == 0);
  const size_t MB = 1 << 20;
  void* p = a.allocate(4 * MB);
  a.deallocate(p, 4 * MB);
  BOOST_TEST(a.stats().cached_bytes == int64_t(4 * MB));
  void* q = a.allocate(3 * MB + MB / 2);  // fits, wastes 1/8 of the block: the same block
  BOOST_TEST(q == p);
  BOOST_TEST(a.stats().cached_bytes == 0);
  a.deallocate(q, 3 * MB + MB / 2);
  BOOST_TEST(a.stats().cached_bytes == int64_t(4 * MB));  // the whole block is back
  void* r = a.allocate(2 * MB);  // would waste half the block: a fresh one
  BOOST_TEST(r != p);
  BOOST_TEST(a.stats().cached_bytes == int64_t(4 * MB));  // the cached block has been reused: it stays
  a.deallocate(r, 2 * MB);                                // cached, never reused
  void* big = a.allocate(8 * MB);  // a miss: the never-reused 2 MB block goes back to the system
  BOOST_TEST(a.stats().cached_bytes == int64_t(4 * MB));
  a.deallocate(big, 8 * MB);
  a.empty_cache();
  BOOST_TEST(a.stats().cached_bytes == 0);
}

BOOST_AUTO_TEST_CASE(printing) {
  std::string s = ops::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).str();
  BOOST_TEST(s.find("[[1, 2, 3],") != std::string::npos);
  BOOST_TEST(s.find("shape=[2, 3]") != std::string::npos);
  BOOST_TEST(s.find("float32") != std::string::npos);
  std::string big = ops::arange(0, 100, 1).str();
  BOOST_TEST(big.find("...") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(devices) {
  BOOST_TEST(Device::parse("cuda:1").index == 1);
  BOOST_TEST(throws_with([] { Device::parse("gpu"); }, {"'gpu'", "cpu"}));
  if (!cuda_backend_available())  // without a GPU (or a CUDA build) a CUDA tensor is a clear error
    BOOST_TEST(throws_with([] { ops::empty({2}, DType::Float32, Device::cuda(0)); }, {"cuda:0", "no CUDA backend"}));
}

BOOST_AUTO_TEST_SUITE_END()
