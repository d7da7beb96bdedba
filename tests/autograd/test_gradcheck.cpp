// Suite gradcheck: every differentiable op against central finite differences in float64 (reference
// backend), kink-aware for relu, abs, clamp, max and max-pool ties.
#include <boost/test/unit_test.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

namespace {
void check(const std::string& name, const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs) {
  GradcheckResult r = gradcheck(f, inputs);
  BOOST_TEST_MESSAGE(name << ": checked " << r.checked << ", kinks skipped " << r.skipped_kinks << ", max error " << r.max_abs_error);
  BOOST_TEST(r.ok, name << ": " << r.message);
  BOOST_TEST(r.checked > 0, name << ": nothing checked");
}
Tensor R(const Shape& s, uint64_t seed) { return test::randn(s, DType::Float64, seed); }
Tensor positive(const Shape& s, uint64_t seed) { return ops::add(ops::unary(ops::UnaryOp::Abs, R(s, seed)), 0.5); }
}  // namespace

BOOST_AUTO_TEST_SUITE(gradcheck)

BOOST_AUTO_TEST_CASE(elementwise) {
  Tensor a = R({3, 4}, 1), b = R({4}, 2), p = positive({3, 4}, 3);
  check("add", [](auto& x) { return add(x[0], x[1]); }, {a, b});
  check("sub", [](auto& x) { return sub(x[0], x[1]); }, {a, b});
  check("mul", [](auto& x) { return mul(x[0], x[1]); }, {a, b});
  check("div", [](auto& x) { return div(x[0], x[1]); }, {a, positive({4}, 4)});
  check("maximum", [](auto& x) { return maximum(x[0], x[1]); }, {a, b});
  check("minimum", [](auto& x) { return minimum(x[0], x[1]); }, {a, b});
  check("scalars", [](auto& x) { return add(mul(x[0], 3.0), 1.0); }, {a});
  check("neg", [](auto& x) { return neg(x[0]); }, {a});
  check("pow", [](auto& x) { return pow(x[0], 2.5); }, {p});
  check("exp", [](auto& x) { return exp(x[0]); }, {a});
  check("log", [](auto& x) { return log(x[0]); }, {p});
  check("sqrt", [](auto& x) { return sqrt(x[0]); }, {p});
  check("rsqrt", [](auto& x) { return rsqrt(x[0]); }, {p});
  check("abs", [](auto& x) { return abs(x[0]); }, {a});
  check("sigmoid", [](auto& x) { return sigmoid(x[0]); }, {a});
  check("tanh", [](auto& x) { return tanh(x[0]); }, {a});
  check("relu", [](auto& x) { return relu(x[0]); }, {a});
  check("clamp", [](auto& x) { return clamp(x[0], -0.5, 0.7); }, {a});
  Tensor cond = ops::compare(ops::CompareOp::Gt, R({3, 4}, 5), 0.0);
  check("where", [cond](auto& x) { return where(cond, x[0], x[1]); }, {a, b});
}

BOOST_AUTO_TEST_CASE(reductions_and_shapes) {
  Tensor a = R({2, 3, 4}, 6);
  check("sum", [](auto& x) { return sum(x[0], {0, 2}); }, {a});
  check("mean", [](auto& x) { return mean(x[0], {1}, true); }, {a});
  check("var", [](auto& x) { return var(x[0], {2}); }, {a});
  check("max", [](auto& x) { return max(x[0], 1).first; }, {a});
  check("reshape/permute", [](auto& x) { return permute(reshape(x[0], {4, 6}), {1, 0}); }, {a});
  check("narrow/slice/select", [](auto& x) { return add(narrow(x[0], 2, 1, 2), unsqueeze(slice(select(x[0], 1, 2), 1, 0, 4, 2), 1)); }, {a});
  check("expand/squeeze", [](auto& x) { return expand(unsqueeze(squeeze(narrow(x[0], 1, 0, 1), 1), 0), {3, 2, 4}); }, {a});
  check("cat/stack/split", [](auto& x) {
    auto parts = split(x[0], 2, 2);
    return add(cat({parts[1], parts[0]}, 2), stack({select(x[0], 0, 0), select(x[0], 0, 1)}, 0));
  }, {a});
  check("contiguous of transpose", [](auto& x) { return contiguous(transpose(x[0], 0, 2)); }, {a});
}

BOOST_AUTO_TEST_CASE(matmul) {
  check("matmul", [](auto& x) { return mdp::matmul(x[0], x[1]); }, {R({3, 4}, 7), R({4, 2}, 8)});
  check("matmul transposed", [](auto& x) { return mdp::matmul(x[0], x[1], true, true); }, {R({4, 3}, 7), R({2, 4}, 8)});
  check("bmm broadcast", [](auto& x) { return mdp::matmul(x[0], x[1]); }, {R({3, 2, 4}, 9), R({1, 4, 2}, 10)});
}

BOOST_AUTO_TEST_CASE(nn_ops) {
  Tensor x = R({2, 4, 6, 5}, 11);
  check("conv2d", [](auto& t) { return conv2d(t[0], t[1], t[2], {{2, 1}, {1, 2}, {1, 2}, 2}); }, {x, R({6, 2, 3, 3}, 12), R({6}, 13)});
  check("conv2d plain", [](auto& t) { return conv2d(t[0], t[1], Tensor(), {}); }, {x, R({3, 4, 2, 2}, 14)});
  Tensor rm = ops::zeros({4}, DType::Float64), rv = ops::ones({4}, DType::Float64);
  check("batch_norm train", [](auto& t) { return batch_norm(t[0], t[1], t[2], Tensor(), Tensor(), true); }, {x, R({4}, 15), R({4}, 16)});
  check("batch_norm eval", [rm, rv](auto& t) { return batch_norm(t[0], t[1], t[2], rm, rv, false); }, {x, R({4}, 15), R({4}, 16)});
  check("batch_norm_relu train", [](auto& t) { return batch_norm_relu(t[0], t[1], t[2], Tensor(), Tensor(), true); },
        {x, R({4}, 15), R({4}, 16)});
  check("batch_norm_relu + residual train",
        [](auto& t) { return batch_norm_relu(t[0], t[1], t[2], Tensor(), Tensor(), true, 0.1, 1e-5, t[3]); },
        {x, R({4}, 15), R({4}, 16), R(x.shape(), 17)});
  check("batch_norm_relu + residual eval",
        [rm, rv](auto& t) { return batch_norm_relu(t[0], t[1], t[2], rm, rv, false, 0.1, 1e-5, t[3]); },
        {x, R({4}, 15), R({4}, 16), R(x.shape(), 17)});
  check("max_pool2d", [](auto& t) { return max_pool2d(t[0], {{3, 3}, {2, 2}, {1, 1}, true}); }, {x});
  check("avg_pool2d", [](auto& t) { return avg_pool2d(t[0], {{3, 2}, {2, 2}, {1, 1}, false, false}); }, {x});
  check("adaptive_avg_pool2d", [](auto& t) { return adaptive_avg_pool2d(t[0], 4, 3); }, {x});
  check("resize_bilinear ac0", [](auto& t) { return resize_bilinear(t[0], 9, 4, false); }, {x});
  check("resize_bilinear ac1", [](auto& t) { return resize_bilinear(t[0], 9, 7, true); }, {x});
  check("resize_nearest", [](auto& t) { return resize_nearest(t[0], 3, 8); }, {x});
  check("softmax", [](auto& t) { return softmax(t[0], 1); }, {x});
  check("log_softmax", [](auto& t) { return log_softmax(t[0], -1); }, {x});
  Tensor target = ops::randint(0, 4, {2, 6, 5});
  ops::fill_(ops::narrow(target, 1, 0, 2), 255);
  Tensor w = positive({4}, 17);
  check("cross_entropy", [target](auto& t) { return cross_entropy(t[0], target); }, {x});
  check("cross_entropy weighted", [target, w](auto& t) { return cross_entropy(t[0], target, w); }, {x});
  check("l2_normalize", [](auto& t) { return l2_normalize(t[0], 1); }, {x});
  Generator g1(3);
  check("dropout", [](auto& t) { Generator g(5); return dropout(t[0], 0.3, true, &g); }, {x});
  check("dropout2d", [](auto& t) { Generator g(6); return dropout2d(t[0], 0.5, true, &g); }, {x});
}

BOOST_AUTO_TEST_CASE(indexing) {
  Tensor x = R({4, 5}, 18);
  Tensor idx = ops::randint(0, 5, {4, 7});
  check("gather", [idx](auto& t) { return gather(t[0], 1, idx); }, {x});
  Tensor sel = ops::from_vector({2, 0, 2}, {3}, DType::Int64);
  check("index_select", [sel](auto& t) { return index_select(t[0], 0, sel); }, {x});
  check("topk", [](auto& t) { return topk(t[0], 2, 1).first; }, {x});
}

BOOST_AUTO_TEST_SUITE_END()
