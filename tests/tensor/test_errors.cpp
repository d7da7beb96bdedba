// Suite errors: bad input throws mdp::Error whose message names the op and the offending shapes/values.
#include <boost/test/unit_test.hpp>

#include "tensor/backend.h"
#include "tests/common.h"

using namespace mdp;
using namespace mdp::test;

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(shapes_and_dtypes) {
  Tensor a = ops::zeros({2, 3}), b = ops::zeros({4, 3});
  BOOST_TEST(throws_with([&] { ops::add(a, b); }, {"add", "[2, 3]", "[4, 3]", "broadcast"}));
  BOOST_TEST(throws_with([&] { ops::mul(a, ops::zeros({2, 3}, DType::Float64)); }, {"mul", "dtype mismatch", "float32", "float64"}));
  BOOST_TEST(throws_with([&] { ops::matmul(a, a); }, {"matmul", "[1, 2, 3]", "do not fit"}));
  BOOST_TEST(throws_with([&] { ops::reshape(a, {4}); }, {"reshape", "[4]", "[2, 3]"}));
  BOOST_TEST(throws_with([&] { ops::permute(a, {0, 0}); }, {"permute", "repeated"}));
  BOOST_TEST(throws_with([&] { ops::narrow(a, 1, 2, 2); }, {"narrow", "out of bounds", "[2, 3]"}));
  BOOST_TEST(throws_with([&] { ops::cat({a, ops::zeros({2, 4})}, 0); }, {"cat", "[2, 3]", "[2, 4]"}));
  BOOST_TEST(throws_with([&] { ops::sum(a, {2}); }, {"sum", "dim 2"}));
}

BOOST_AUTO_TEST_CASE(convolution_arguments) {
  Tensor x = ops::zeros({1, 3, 8, 8});
  BOOST_TEST(throws_with([&] { ops::conv2d(x, ops::zeros({4, 2, 3, 3}), Tensor(), {}); }, {"conv2d", "[1, 3, 8, 8]", "[4, 2, 3, 3]", "groups=1"}));
  BOOST_TEST(throws_with([&] { ops::conv2d(x, ops::zeros({4, 3, 3}), Tensor(), {}); }, {"conv2d", "weight [4, 3, 3]", "4-D"}));
  ops::Conv2dArgs bad;
  bad.stride = {0, 1};
  BOOST_TEST(throws_with([&] { ops::conv2d(x, ops::zeros({4, 3, 3, 3}), Tensor(), bad); }, {"conv2d", "stride [0, 1]"}));
  BOOST_TEST(throws_with([&] { ops::conv2d(x, ops::zeros({4, 3, 9, 9}), Tensor(), {}); }, {"conv2d", "smaller than the dilated kernel"}));
  BOOST_TEST(throws_with([&] { ops::conv2d(x, ops::zeros({4, 3, 3, 3}), ops::zeros({3}), {}); }, {"conv2d", "bias [3]"}));
  BOOST_TEST(throws_with([&] { ops::max_pool2d(x, {{3, 3}, {1, 1}, {2, 2}}); }, {"max_pool2d", "padding"}));
  BOOST_TEST(throws_with([&] { ops::batch_norm(ops::zeros({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5); },
                         {"batch_norm", "more than 1 value per channel"}));
}

BOOST_AUTO_TEST_CASE(labels_out_of_range) {
  Tensor logits = ops::zeros({1, 4, 2, 2});
  Tensor t = ops::from_vector({0, 1, 7, 255}, {1, 2, 2}, DType::Int64);
  for (bool ref : {false, true}) {
    std::optional<ReferenceScope> scope;
    if (ref) scope.emplace();
    BOOST_TEST(throws_with([&] { ops::cross_entropy(logits, t, Tensor()); }, {"cross_entropy", "target value 7", "4 classes"}));
    BOOST_TEST(throws_with([&] { ops::one_hot(t, 4); }, {"one_hot", "index 7"}));
    BOOST_TEST(throws_with([&] { ops::gather(ops::zeros({2, 3}), 1, ops::full({2, 1}, 3, DType::Int64)); }, {"gather", "index 3", "size 3"}));
  }
  BOOST_TEST(throws_with([&] { ops::cross_entropy(logits, ops::zeros({1, 2, 3}, DType::Int64), Tensor()); },
                         {"cross_entropy", "target [1, 2, 3]", "logits [1, 4, 2, 2]"}));
  BOOST_TEST(throws_with([&] { ops::cross_entropy(logits, ops::zeros({1, 2, 2}), Tensor()); }, {"cross_entropy", "int64", "float32"}));
  BOOST_TEST(throws_with([&] { ops::topk(ops::zeros({3}), 4); }, {"topk", "k = 4"}));
}

BOOST_AUTO_TEST_CASE(all_ignored_is_zero) {
  Tensor logits = test::randn({2, 3, 2, 2});
  Tensor t = ops::full({2, 2, 2}, 255, DType::Int64);
  BOOST_TEST(ops::cross_entropy(logits, t, Tensor()).item() == 0.0);
  BOOST_TEST(ops::to_vector(ops::sum(ops::unary(ops::UnaryOp::Abs, ops::cross_entropy_backward(ops::scalar_tensor(1), logits, t, Tensor()))))[0] == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
