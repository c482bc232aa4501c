#include "own_network.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

namespace tunnel::test {

namespace {

bool entered = false;

bool write_file(char const* path, std::string const& text) {
    std::ofstream out(path);
    out << text;
    return static_cast<bool>(out.flush());
}

bool enter_own_user_and_network_namespace() {
    auto const uid = std::to_string(::geteuid());
    auto const gid = std::to_string(::getegid());
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return false;
    return write_file("/proc/self/setgroups", "deny") &&
           write_file("/proc/self/uid_map", uid + " " + uid + " 1") &&
           write_file("/proc/self/gid_map", gid + " " + gid + " 1");
}

}  // namespace

bool enter_own_network_namespace() {
    if (::unshare(CLONE_NEWNET) != 0 && !enter_own_user_and_network_namespace()) {
        std::cerr << "note: sharing the host's network namespace (" << std::strerror(errno)
                  << "): cases run at once may meet on container ids\n";
        return false;
    }
    int const fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &request) != 0)
        throw std::runtime_error("cannot read lo's flags");
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) throw std::runtime_error("cannot bring lo up");
    ::close(fd);
    entered = true;
    return true;
}

bool has_own_network_namespace() { return entered; }

}  // namespace tunnel::test
