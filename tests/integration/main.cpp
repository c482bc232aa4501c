#define BOOST_TEST_MODULE tunnel_client_integration_tests
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdlib>

#include "log/logging.hpp"
#include "own_network.hpp"
#include "skip_report.hpp"

// Each test process gets a network namespace of its own where it may (own_network.hpp). A child
// that dies mid-write must not kill the test process; the in-process runner emulator logs warnings
// only (TUNNEL_TEST_LOG=debug for more).
struct test_process_setup {
    test_process_setup() {
        tunnel::test::enter_own_network_namespace();
        std::signal(SIGPIPE, SIG_IGN);
        char const* level = std::getenv("TUNNEL_TEST_LOG");
        tunnel::init_logging(
            tunnel::parse_log_level(level ? level : "warn").value_or(tunnel::log_level::warn),
            tunnel::log_format::text);
    }
};
BOOST_TEST_GLOBAL_FIXTURE(test_process_setup);
using tunnel::test::skip_report;
BOOST_TEST_GLOBAL_FIXTURE(skip_report);
