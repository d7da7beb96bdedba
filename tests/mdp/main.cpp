// The Boost.Test module of tests/mdp.
#define BOOST_TEST_MODULE mdp
#include <boost/test/unit_test.hpp>
