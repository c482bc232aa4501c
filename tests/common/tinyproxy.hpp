#pragma once
// Debian's real tinyproxy (/usr/bin/tinyproxy, package tinyproxy) as a child process: an HTTP
// proxy on 127.0.0.1 with a free port, its own config and log file in a temporary directory.
// The constructor returns once it listens (or throws: missing binary, died, not up in time);
// the destructor stops it (SIGTERM, then SIGKILL) and removes the directory.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tunnel::test {

class tinyproxy {
public:
    static constexpr char const* binary = "/usr/bin/tinyproxy";

    // connect_ports: the only ports CONNECT may reach (tinyproxy's ConnectPort; empty: any port).
    // basic_auth: user and password the proxy requires (answers 407 without them).
    explicit tinyproxy(std::vector<std::uint16_t> connect_ports,
                       std::optional<std::pair<std::string, std::string>> basic_auth = std::nullopt);
    ~tinyproxy();
    tinyproxy(tinyproxy const&) = delete;
    tinyproxy& operator=(tinyproxy const&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const;  // http://127.0.0.1:PORT
    std::string log() const;  // its log file (LogLevel Info: every request line is there)
    std::string config() const { return config_; }

    // How many CONNECT requests for host_port ("127.0.0.1:8000") the log shows (refused ones too).
    std::size_t connect_requests(std::string const& host_port) const;
    // How many client connections the proxy accepted.
    std::size_t connections() const;

private:
    std::string dir_;
    std::string log_path_;
    std::string config_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    void stop();
};

}  // namespace tunnel::test
