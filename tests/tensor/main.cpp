// The Boost.Test module of tests/tensor; the suites are the other files of this folder.
#define BOOST_TEST_MODULE tensor
#include <boost/test/unit_test.hpp>
