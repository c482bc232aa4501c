#define BOOST_TEST_MODULE tunnel_client_integration_tests
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "log/logging.hpp"
#include "skip_report.hpp"

namespace {
// Each test process gets a network namespace of its own when it may make one (as root, as CI
// runs): its own loopback and its own abstract Unix names, which hold the control endpoints of
// the clients it starts. Suites that ctest runs at once then never meet, even with equal ids.
void isolate_network() {
    if (::unshare(CLONE_NEWNET) != 0) {
        std::cerr << "note: sharing the host's network namespace (" << std::strerror(errno)
                  << "): suites run at once may meet on container ids\n";
        return;
    }
    int const fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &request) != 0) throw std::runtime_error("cannot read lo's flags");
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) throw std::runtime_error("cannot bring lo up");
    ::close(fd);
}
}  // namespace

// A child that dies mid-write must not kill the test process; the in-process runner emulator
// logs warnings only (TUNNEL_TEST_LOG=debug for more).
struct test_process_setup {
    test_process_setup() {
        isolate_network();
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
