#define BOOST_TEST_MODULE tunnel_client_unit_tests
#include <boost/test/unit_test.hpp>

#include "skip_report.hpp"

using tunnel::test::skip_report;
BOOST_TEST_GLOBAL_FIXTURE(skip_report);
