#pragma once
// How a scenario reaches the services: straight over loopback (direct), through socat (relay), or
// through a tunnel client (the harness sends the user's frames on the tunnel). Scenarios are
// written once against these interfaces.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "services.hpp"
#include "tunnel_driver.hpp"

namespace bench {

// One user connection to a TCP service.
class connection {
public:
    virtual ~connection() = default;
    // Tunnel: waits for CONNECTED (false on ERROR). TCP: already open.
    virtual boost::asio::awaitable<bool> wait_open() = 0;
    virtual boost::asio::awaitable<bool> write(std::span<std::uint8_t const> bytes) = 0;
    virtual boost::asio::awaitable<bool> read_exact(std::span<std::uint8_t> out) = 0;
    // Reads and discards until the service's end (EOF, or CLOSE on the tunnel); the byte count, or
    // nullopt on an error.
    virtual boost::asio::awaitable<std::optional<std::size_t>> read_to_end() = 0;
    virtual void close() = 0;
};

// One UDP flow to the UDP echo: datagrams out, echoes counted.
class datagram_flow {
public:
    virtual ~datagram_flow() = default;
    virtual boost::asio::awaitable<bool> send(std::span<std::uint8_t const> datagram) = 0;
    virtual std::size_t received() const = 0;
    // Returns when a datagram arrives or at the deadline (callers re-check received()).
    virtual boost::asio::awaitable<void> wait_receive(clock_type::time_point deadline) = 0;
    virtual void close() = 0;
};

class transport {
public:
    virtual ~transport() = default;
    // Throws std::runtime_error when the connection cannot be made (TCP); on the tunnel it returns
    // at once (CONNECT sent) and a failure shows on the first wait_open/read/write.
    virtual boost::asio::awaitable<std::unique_ptr<connection>> connect(service s) = 0;
    virtual boost::asio::awaitable<std::unique_ptr<datagram_flow>> open_udp() = 0;
    // Ends every connection and flow now, so that everything waiting on them returns (the
    // watchdog of a run that took too long).
    virtual void abort() = 0;
};

// Direct and relay: plain loopback sockets to 127.0.0.1:port_of(service).
std::unique_ptr<transport> make_tcp_transport(boost::asio::any_io_executor ex,
                                              std::function<std::uint16_t(service)> port_of);

// Through a tunnel client: streams on the driver to the services' own ports.
std::unique_ptr<transport> make_tunnel_transport(std::shared_ptr<tunnel_driver> driver, services& svc);

}  // namespace bench
