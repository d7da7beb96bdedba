// main.cpp: the Boost.Test entry point of the data tests (test_data); the suites live in test_*.cpp.
// Nothing else belongs here. BOOST_TEST_DYN_LINK comes from tests/data/CMakeLists.txt.
#define BOOST_TEST_MODULE data
#include <boost/test/unit_test.hpp>
