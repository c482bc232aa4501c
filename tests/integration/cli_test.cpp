#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_SUITE(cli)
BOOST_AUTO_TEST_CASE(placeholder_to_fill) { BOOST_TEST(true); }
BOOST_AUTO_TEST_SUITE_END()
