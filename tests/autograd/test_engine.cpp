// Suite engine: the backward pass: accumulation into leaves, a node used twice, freeing the graph,
// no_grad, detach, requires_grad propagation and non-scalar outputs.
#include <boost/test/unit_test.hpp>

#include "autograd/functions.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(simple_chain) {
  Tensor x = ops::from_vector({1, 2, 3}, {3});
  x.set_requires_grad(true);
  Tensor y = sum(mul(x, x));  // dy/dx = 2x
  BOOST_TEST(y.requires_grad());
  BOOST_TEST(y.grad_fn() != nullptr);
  backward(y);
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{2, 4, 6}));
}

BOOST_AUTO_TEST_CASE(node_used_twice_and_accumulation) {
  Tensor x = ops::from_vector({1, -2}, {2});
  x.set_requires_grad(true);
  Tensor h = mul(x, 3.0);          // used twice below
  Tensor y = sum(add(h, mul(h, h)));  // dy/dx = 3 + 2*h*3 = 3 + 18x
  backward(y);
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{21, -33}));
  Tensor y2 = sum(x);  // gradients accumulate across backward calls
  backward(y2);
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{22, -32}));
}

// A leaf's first gradient becomes .grad without a copy when nothing else holds it; it never aliases a tensor
// someone else holds: the gradient a caller passed in, or one tensor handed to two leaves (add's backward).
BOOST_AUTO_TEST_CASE(grad_never_aliases_another_tensor) {
  Tensor a = ops::from_vector({1, 2}, {2}), b = ops::from_vector({3, 4}, {2});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor seed = ops::from_vector({1, 1}, {2});
  backward(add(a, b), seed);  // add's backward passes the same gradient to both leaves
  BOOST_TEST(a.grad().storage() != b.grad().storage());
  BOOST_TEST(a.grad().storage() != seed.storage());
  BOOST_TEST(b.grad().storage() != seed.storage());
  ops::fill_(a.grad(), 5);
  BOOST_TEST(ops::to_vector(b.grad()) == (std::vector<double>{1, 1}));
  BOOST_TEST(ops::to_vector(seed) == (std::vector<double>{1, 1}));

  Tensor x = ops::from_vector({1, 2, 3}, {3});  // a leaf as the root: its gradient is the caller's tensor
  x.set_requires_grad(true);
  Tensor gx = ops::from_vector({7, 8, 9}, {3});
  backward(x, gx);
  BOOST_TEST(x.grad().storage() != gx.storage());

  Tensor w = ops::from_vector({1, 2, 3, 4}, {2, 2});  // a gradient taken over as .grad, then accumulated into
  w.set_requires_grad(true);
  backward(sum(mul(w, 2.0)));
  BOOST_TEST(ops::to_vector(w.grad()) == (std::vector<double>{2, 2, 2, 2}));
  backward(sum(mul(w, 1.0)));  // accumulates into the kept .grad
  BOOST_TEST(ops::to_vector(w.grad()) == (std::vector<double>{3, 3, 3, 3}));
}

BOOST_AUTO_TEST_CASE(post_accumulate_grad_hooks_run_once_per_backward_after_every_use) {
  Tensor x = ops::from_vector({1, -2}, {2});
  x.set_requires_grad(true);
  std::vector<std::vector<double>> seen;  // .grad each time the hook ran
  HookHandle handle = register_post_accumulate_grad_hook(x, [&](const Tensor& leaf) { seen.push_back(ops::to_vector(leaf.grad())); });
  backward(sum(add(mul(x, 2.0), mul(x, x))));  // x used three times: d/dx = 2 + 2x
  BOOST_TEST(seen.size() == 1u);
  BOOST_TEST(seen[0] == (std::vector<double>{4, -2}));
  Tensor a = sum(x), b = sum(mul(x, 3.0));  // two graphs over the same leaf, backpropagated one by one
  backward(a);
  backward(b);
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(seen[2] == (std::vector<double>{8, 2}));
  handle.remove();
  backward(sum(x));
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(throws_with([&] { register_post_accumulate_grad_hook(mul(x, 1.0), [](const Tensor&) {}); }, {"not a leaf"}));
}

BOOST_AUTO_TEST_CASE(second_backward_fails) {
  Tensor x = ops::ones({2});
  x.set_requires_grad(true);
  Tensor y = sum(exp(x));
  backward(y);
  BOOST_TEST(throws_with([&] { backward(y); }, {"second time", "freed"}));
}

BOOST_AUTO_TEST_CASE(no_grad_and_detach) {
  Tensor x = ops::ones({2});
  x.set_requires_grad(true);
  {
    NoGradGuard g;
    Tensor y = mul(x, 2.0);
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(throws_with([&] { backward(sum(y)); }, {"does not require grad"}));
  }
  Tensor d = detach(mul(x, 2.0));
  BOOST_TEST(!d.requires_grad());
  BOOST_TEST(d.is_leaf());
  Tensor z = add(d, x);
  backward(sum(z));
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{1, 1}));
  Tensor c = ops::ones({2});  // constants do not require grad: nothing is recorded
  BOOST_TEST(!mul(c, c).requires_grad());
  Tensor nonleaf = mul(x, 1.0);
  BOOST_TEST(throws_with([&] { nonleaf.set_requires_grad(false); }, {"leaf"}));
  BOOST_TEST(throws_with([&] { ops::zeros({2}, DType::Int64).set_requires_grad(true); }, {"floating"}));
}

BOOST_AUTO_TEST_CASE(non_scalar_output_needs_gradient) {
  Tensor x = ops::ones({2, 2});
  x.set_requires_grad(true);
  Tensor y = mul(x, 5.0);
  BOOST_TEST(throws_with([&] { backward(y); }, {"not a scalar"}));
  backward(y, ops::full({2, 2}, 0.5));
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{2.5, 2.5, 2.5, 2.5}));
}

BOOST_AUTO_TEST_CASE(views_and_multiple_outputs) {
  Tensor x = ops::arange(0, 6, 1);
  x.set_requires_grad(true);
  Tensor v = reshape(x, {2, 3});
  auto parts = split(v, 1, 0);
  Tensor y = add(sum(mul(parts[0], 2.0)), sum(select(transpose(v, 0, 1), 1, 1)));  // row0*2, plus v[1][1]
  backward(y);
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{2, 2, 2, 1, 1, 1}));
  Tensor m = ops::from_vector({3, 1, 4, 1}, {2, 2});
  m.set_requires_grad(true);
  auto [val, idx] = max(m, 1);
  backward(sum(val));
  BOOST_TEST(ops::to_vector(idx) == (std::vector<double>{0, 0}));
  BOOST_TEST(ops::to_vector(m.grad()) == (std::vector<double>{1, 0, 1, 0}));
}

BOOST_AUTO_TEST_CASE(dtype_conversion_carries_gradient) {
  Tensor x = ops::ones({3}, DType::Float64);
  x.set_requires_grad(true);
  backward(sum(mul(to(x, DType::Float32), 2.0)));
  BOOST_TEST(x.grad().dtype() == DType::Float64);
  BOOST_TEST(ops::to_vector(x.grad()) == (std::vector<double>{2, 2, 2}));
}

BOOST_AUTO_TEST_SUITE_END()
