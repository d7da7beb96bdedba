// The Boost.Test module of tests/apps: the mdp command run end to end, as a user runs it.
#define BOOST_TEST_MODULE apps
#include <boost/test/unit_test.hpp>
