#define BOOST_TEST_MODULE tunnel_client_session_tests
#include <boost/test/unit_test.hpp>
