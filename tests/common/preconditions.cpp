#include "preconditions.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>

#include "tinyproxy.hpp"

namespace tunnel::test {

namespace asio = boost::asio;

bool ipv6_loopback_is_up() {
    asio::io_context ioc;
    asio::ip::udp::socket probe(ioc);
    boost::system::error_code ec;
    probe.open(asio::ip::udp::v6(), ec);
    if (!ec) probe.bind({asio::ip::address_v6::loopback(), 0}, ec);
    return !ec;
}

std::optional<std::string> private_mount_namespace_refused() {
    static std::optional<std::string> const refused = []() -> std::optional<std::string> {
        int report[2];
        if (::pipe(report) != 0) return std::string("pipe: ") + std::strerror(errno);
        pid_t const child = ::fork();
        if (child < 0) return std::string("fork: ") + std::strerror(errno);
        if (child == 0) {
            // {stage, errno}: stage 0 is success.
            int answer[2] = {0, 0};
            if (::unshare(CLONE_NEWNS) != 0)
                answer[0] = 1, answer[1] = errno;
            else if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
                answer[0] = 2, answer[1] = errno;
            (void)!::write(report[1], answer, sizeof answer);
            ::_exit(0);
        }
        ::close(report[1]);
        int answer[2] = {-1, 0};
        auto const got = ::read(report[0], answer, sizeof answer);
        ::close(report[0]);
        ::waitpid(child, nullptr, 0);
        if (got != static_cast<ssize_t>(sizeof answer)) return std::string("the probe process said nothing");
        if (answer[0] == 1) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(answer[1]);
        if (answer[0] == 2)
            return std::string("making / private in a new mount namespace: ") + std::strerror(answer[1]) +
                   (answer[1] == EINVAL ? " (/ is not a mount point: a chroot?)" : "");
        return std::nullopt;
    }();
    return refused;
}

precondition_result running_as_root(boost::unit_test::test_unit_id) {
    precondition_result r(::geteuid() == 0);
    if (!r) r.message() << "needs root (euid " << ::geteuid() << "); CI runs the tests as root";
    return r;
}

precondition_result ipv6_on_loopback(boost::unit_test::test_unit_id) {
    precondition_result r(ipv6_loopback_is_up());
    if (!r) r.message() << "no IPv6 on loopback here (::1 cannot be bound)";
    return r;
}

precondition_result tinyproxy_installed(boost::unit_test::test_unit_id) {
    precondition_result r(::access(tinyproxy::binary, X_OK) == 0);
    if (!r)
        r.message() << tinyproxy::binary
                    << " is missing: install the Debian package tinyproxy (packaging/setup.sh does)";
    return r;
}

}  // namespace tunnel::test
