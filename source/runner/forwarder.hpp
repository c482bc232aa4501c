#pragma once
// The runner emulator: accepts tunnel clients and, like the runner + CLI pair, exposes local TCP
// and UDP listeners whose connections are forwarded into a client's container ports
// (--forward 9000:ID:8080, --forward 9001:ID:5353/udp). One client_id per user connection,
// counting from 1 per tunnel; DATA is sent right after CONNECT, without waiting for CONNECTED.
// Single-threaded: run it on one thread (or one strand).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame.hpp"
#include "runner/tunnel_listener.hpp"

namespace tunnel::runner {

struct forward_spec {
    std::uint16_t listen_port = 0;  // 0: any free port (see emulator::forward_port)
    std::string container_id;
    std::uint16_t target_port = 0;
    protocol::proto proto = protocol::proto::tcp;
};

// "LISTEN:CONTAINER:PORT" or "LISTEN:CONTAINER:PORT/udp" (or /tcp).
std::optional<forward_spec> parse_forward(std::string_view text);

class emulator {
public:
    emulator(boost::asio::any_io_executor ex, boost::asio::ip::tcp::endpoint tunnel_endpoint,
             std::vector<forward_spec> forwards, listener_options options = {});
    ~emulator();

    void start();
    void stop();

    std::uint16_t port() const { return listener_.port(); }
    std::uint16_t forward_port(std::size_t index) const;

    // True once a tunnel client for container_id is connected; false after the timeout.
    boost::asio::awaitable<bool> wait_for_client(std::string container_id, std::chrono::milliseconds timeout);
    std::size_t sessions_accepted() const { return sessions_accepted_; }

    struct router;  // one per connected tunnel client

private:
    struct tcp_forward;
    struct udp_forward;

    boost::asio::awaitable<void> accept_tunnels();
    boost::asio::awaitable<void> accept_users(std::shared_ptr<tcp_forward> forward);
    boost::asio::awaitable<void> relay_datagrams(std::shared_ptr<udp_forward> forward);
    std::shared_ptr<router> current_router(std::string const& container_id) const;

    boost::asio::any_io_executor executor_;
    tunnel_listener listener_;
    std::vector<std::shared_ptr<tcp_forward>> tcp_forwards_;
    std::vector<std::shared_ptr<udp_forward>> udp_forwards_;
    std::vector<std::pair<std::size_t, bool>> forward_index_;  // spec index -> (slot, is_udp)
    std::map<std::string, std::weak_ptr<router>> routers_;     // newest client per container wins
    boost::asio::steady_timer routers_changed_;
    std::size_t sessions_accepted_ = 0;
    bool stopped_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with the emulator
};

}  // namespace tunnel::runner
