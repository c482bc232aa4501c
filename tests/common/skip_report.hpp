#pragma once
// A test unit skipped because its precondition failed says so on stdout, whatever the log level:
//   Test case "udp/x" is skipped: precondition failed: REASON
//   <CTestDetails>skipped: precondition failed: REASON</CTestDetails>
// ctest marks the case Skipped on the first line (tests/cmake/boost_test_cases.cmake) and shows the
// second as the test's details (ctest -V, dashboards). Boost.Test itself logs skips only at
// --log_level=unit_scope and below, where a --run_test filter also logs every case it left out.
// Install it in a test module's main.cpp (the macro takes a plain name):
//   using tunnel::test::skip_report;
//   BOOST_TEST_GLOBAL_FIXTURE(skip_report);

#include <boost/test/tree/observer.hpp>
#include <boost/test/tree/test_unit.hpp>
#include <boost/test/unit_test_suite.hpp>
#include <iostream>
#include <string>

namespace tunnel::test {

class skip_report : public boost::unit_test::test_observer {
public:
    skip_report() { boost::unit_test::framework::register_observer(*this); }
    ~skip_report() override { boost::unit_test::framework::deregister_observer(*this); }
    skip_report(skip_report const&) = delete;
    skip_report& operator=(skip_report const&) = delete;

    void test_unit_skipped(boost::unit_test::test_unit const& unit,
                           boost::unit_test::const_string reason) override {
        std::string const why(reason.begin(), reason.end());
        // Only preconditions: "disabled" is every case a --run_test filter left out.
        if (why.rfind("precondition failed", 0) != 0) return;
        std::cout << "Test " << unit.p_type_name << " \"" << unit.full_name() << "\" is skipped: " << why
                  << "\n"
                  << "<CTestDetails>skipped: " << why << "</CTestDetails>" << std::endl;
    }
};

}  // namespace tunnel::test
