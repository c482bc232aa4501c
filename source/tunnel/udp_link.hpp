#pragma once
// One UDP client_id: a connected UDP socket to 127.0.0.1:port. Each DATA is one datagram and each
// datagram one DATA. The runner never closes UDP flows, so a flow idle for udp_idle_timeout is
// closed here and CLOSE is sent. UDP never holds the tunnel: datagrams beyond the buffer are dropped.
// While the service has not answered, "port unreachable" moves the flow between 127.0.0.1 and ::1
// (a service listening on IPv6 only) and resends the refused datagram once.

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "tunnel/chunk_queue.hpp"
#include "tunnel/link.hpp"
#include "tunnel/session_state.hpp"

namespace tunnel {

class udp_link final : public link, public std::enable_shared_from_this<udp_link> {
public:
    udp_link(std::shared_ptr<session_state> state, std::uint32_t client_id, std::uint16_t port);
    ~udp_link() override;

    void start() override;
    void deliver(std::span<std::uint8_t const> payload) override;
    void close_by_runner() override;
    void abort() override;
    void fail(std::string_view reason) override;
    std::size_t pending_bytes() const override { return pending_bytes_; }

private:
    boost::asio::awaitable<void> run(std::shared_ptr<udp_link> self);
    boost::asio::awaitable<void> pump_up();
    boost::asio::awaitable<void> pump_down();
    boost::asio::awaitable<void> expire_when_idle();
    boost::system::error_code open_socket(boost::asio::ip::address const& address);
    void on_refused();
    void touch() { last_activity_ = std::chrono::steady_clock::now(); }
    void close_now();

    std::shared_ptr<session_state> state_;
    boost::asio::ip::udp::socket socket_;
    bool open_ = false;
    bool closed_ = false;
    bool closing_ = false;  // CLOSE from the runner: send what is queued, then close
    bool silent_ = false;
    bool writing_ = false;
    bool heard_back_ = false;  // a datagram came from the service: its address is right
    frame_bytes last_sent_;    // kept until heard_back_, to resend after moving
    bool resent_ = false;      // last_sent_ was resent already
    chunk_queue pending_;
    std::size_t pending_bytes_ = 0;
    std::uint64_t datagrams_up_ = 0;
    std::uint64_t datagrams_down_ = 0;
    std::uint64_t dropped_ = 0;
    std::chrono::steady_clock::time_point last_activity_;
    boost::asio::steady_timer wake_down_;
    boost::asio::steady_timer idle_timer_;
};

}  // namespace tunnel
