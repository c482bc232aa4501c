#define BOOST_TEST_MODULE tunnel_client_integration_tests
#include <boost/test/unit_test.hpp>

#include <csignal>

// A child that dies mid-write must not kill the test process.
struct ignore_sigpipe {
    ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(ignore_sigpipe);
