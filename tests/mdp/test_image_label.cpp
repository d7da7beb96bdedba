// Suite image_label: the classification baseline's image-level labels: the majority object class of each
// label map, background classes and ignore skipped, ties to the lower id, no object -> ignore.
#include <boost/test/unit_test.hpp>

#include "mdp/image_label.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using namespace mdp;

BOOST_AUTO_TEST_SUITE(image_label)

BOOST_AUTO_TEST_CASE(majority_object_class_per_image) {
  // classes 0..5; 0 and 3 are backgrounds (two datasets' background classes)
  const std::vector<bool> background = {true, false, false, true, false, false};
  std::vector<double> v = {0, 0, 0, 2, 2, 1,        // 2 beats 1, the background majority does not count
                           3, 3, 255, 255, 255, 3,  // only background and ignore: no object
                           4, 5, 4, 5, 0, 0,        // tie 4 vs 5: the lower id
                           255, 1, 255, 0, 3, 3};   // one object pixel is enough
  Tensor y = ops::from_vector(v, {4, 2, 3}, DType::Int64);
  std::vector<double> got = ops::to_vector(image_labels(y, background, 255));
  BOOST_TEST(got == (std::vector<double>{2, 255, 4, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_a_label_map) {
  BOOST_CHECK_THROW(image_labels(ops::zeros({2, 3}, DType::Int64), {true}, 255), Error);
  BOOST_CHECK_THROW(image_labels(ops::zeros({1, 2, 3}, DType::Float32), {true}, 255), Error);
}

BOOST_AUTO_TEST_SUITE_END()
