#pragma once
// What a test needs of the machine it runs on, as Boost.Test preconditions:
//   BOOST_AUTO_TEST_CASE(name, *boost::unit_test::precondition(running_as_root)) { ... }
// Where the need is not met the case is reported skipped with the reason (skip_report.hpp), never
// passed without running and never failed for a reason that is the machine's.

#include <boost/test/tools/assertion_result.hpp>
#include <boost/test/tree/test_unit.hpp>
#include <boost/test/unit_test_suite.hpp>
#include <optional>
#include <string>

namespace tunnel::test {

using precondition_result = boost::test_tools::assertion_result;

// The effective user is root (chroot, mounts, cgroups, another user's identity).
precondition_result running_as_root(boost::unit_test::test_unit_id);
// ::1 is up on the loopback interface (a Docker network without IPv6 has none).
precondition_result ipv6_on_loopback(boost::unit_test::test_unit_id);
// Debian's tinyproxy is installed (packaging/setup.sh installs it).
precondition_result tinyproxy_installed(boost::unit_test::test_unit_id);

// The facts behind them, for tests that combine them.
bool ipv6_loopback_is_up();
// Why a process here cannot have a mount namespace of its own with private propagation (which
// mounts need so as not to show up outside it), or nullopt when it can. Tried in a child process.
// Fails where / is not a mount point, as in a plain chroot.
std::optional<std::string> private_mount_namespace_refused();

}  // namespace tunnel::test
