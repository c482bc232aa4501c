#include "control/instance.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "control/ask.hpp"
#include "control/messages.hpp"

namespace tunnel::control {

namespace {
// Binds and listens on name: the fd, or -errno.
int bind_name(std::string const& name) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (name.size() > sizeof address.sun_path) return -ENAMETOOLONG;
    std::memcpy(address.sun_path, name.data(), name.size());
    auto const length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    int const fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (::bind(fd, reinterpret_cast<sockaddr const*>(&address), length) != 0 || ::listen(fd, 16) != 0) {
        int const error = errno;
        ::close(fd);
        return -error;
    }
    return fd;
}
}  // namespace

claim_result claim_endpoint(std::string const& name, claim_options const& options) {
    bool asked_to_stop = false;
    // A holder that is exiting may keep the name for a moment after it stopped answering: a few
    // short retries cover that window (bounded: about one second in all).
    for (int attempt = 0; attempt < 50; ++attempt) {
        int const fd = bind_name(name);
        if (fd >= 0) return claimed{fd};
        if (fd != -EADDRINUSE) return claim_failed{std::string("control endpoint: ") + std::strerror(-fd)};

        auto const asked = ask_until_served(name, R"({"cmd":"status"})", options.ask_deadline);
        if (asked.kind == ask_result::outcome::nobody) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the holder is on its way out
            continue;
        }
        if (asked.kind == ask_result::outcome::failed || asked.kind == ask_result::outcome::busy)
            return held_by_other{0, asked.reason};
        if (auto const error = answer_error(asked.answer); !error.empty()) return held_by_other{0, error};
        long const pid = answer_pid(asked.answer);
        if (!options.replace) return held_by_other{pid, {}};
        if (asked_to_stop) return held_by_other{pid, "it did not give way after being asked to stop"};

        // Ask it to stop, and wait for the connection to close: that is its exit.
        auto const stopped = ask_until_served(name, R"({"cmd":"stop"})", options.stop_deadline, true);
        asked_to_stop = true;
        if (stopped.kind == ask_result::outcome::failed || stopped.kind == ask_result::outcome::busy)
            return held_by_other{pid, stopped.reason};
        if (stopped.kind == ask_result::outcome::answered) {
            if (auto const error = answer_error(stopped.answer); !error.empty())
                return held_by_other{pid, error};
        }
    }
    return claim_failed{"control endpoint: the name stays taken, but nobody answers on it"};
}

}  // namespace tunnel::control
