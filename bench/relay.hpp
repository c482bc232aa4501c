#pragma once
// The relay baseline: socat as a plain user-space relay with a 64 KiB buffer in front of each
// service a scenario needs (TCP: one forked child per connection; UDP: one child per peer).

#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "services.hpp"

namespace bench {

class relay {
public:
    // Starts one socat per service; wait_ready() before use.
    relay(services const& svc, std::vector<service> const& needs);

    // Until every socat listens (or is bound, for UDP); throws after the limit, with the log.
    boost::asio::awaitable<void> wait_ready(std::chrono::milliseconds limit);
    std::uint16_t port(service s) const;
    std::vector<pid_t> pids() const;
    boost::asio::awaitable<void> stop();
    void keep_logs();

    // The socat command line for a service (for the report).
    static std::vector<std::string> command(service s, std::uint16_t listen_port, std::uint16_t service_port);

private:
    struct entry {
        service svc;
        std::uint16_t port;
        std::unique_ptr<child_process> process;
    };
    std::vector<entry> entries_;
};

// A port on 127.0.0.1 that was free a moment ago (bound to 0, then released).
std::uint16_t free_port(bool udp);

}  // namespace bench
