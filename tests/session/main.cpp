#define BOOST_TEST_MODULE tunnel_client_session_tests
#include <boost/test/unit_test.hpp>

#include "log/logging.hpp"
#include "skip_report.hpp"

// The sessions under test log as the client does; only warnings and errors are worth reading here.
struct quiet_logging {
    quiet_logging() { tunnel::init_logging(tunnel::log_level::warn, tunnel::log_format::text); }
};
BOOST_TEST_GLOBAL_FIXTURE(quiet_logging);
using tunnel::test::skip_report;
BOOST_TEST_GLOBAL_FIXTURE(skip_report);
