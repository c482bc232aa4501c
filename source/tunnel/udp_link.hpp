#pragma once
// One UDP client_id: a connected UDP socket to 127.0.0.1:port. Each DATA is one datagram and each
// datagram one DATA, pumped by a coroutine pair as TCP is: pump_up (datagrams -> DATA frames) and
// pump_down (the runner's datagrams -> the socket, and the idle clock). The runner never closes
// UDP flows, so a flow idle for udp_idle_timeout is closed here and CLOSE is sent. UDP never holds
// the tunnel: datagrams beyond the buffer are dropped. While the service has not answered, "port
// unreachable" moves the flow between 127.0.0.1 and ::1 (a service listening on IPv6 only) and
// resends the refused datagram once.

#include <boost/asio/ip/udp.hpp>
#include <memory>

#include "tunnel/link.hpp"

namespace tunnel {

class udp_link final : public link {
public:
    udp_link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port);

private:
    boost::asio::awaitable<void> pump_up() override;  // opens the socket first
    boost::asio::awaitable<void> pump_down() override;
    // Drops what the buffer cannot take, like a full socket buffer would.
    void deliver(chunk_queue::chunk datagram) override;
    void begin_flush() override { downstream_wake_.notify(); }
    void close_socket() override;

    bool open();  // true once the socket is connected; else ERROR was sent
    // The next datagram as a DATA frame; empty with ec set when there is none.
    transport::frame_bytes receive_frame(boost::system::error_code& ec);
    boost::system::error_code open_socket(boost::asio::ip::address const& address);
    void remember_for_resend(std::span<std::uint8_t const> datagram);
    void on_refused();
    void touch() { last_activity_ = std::chrono::steady_clock::now(); }

    boost::asio::ip::udp::socket socket_;
    bool opened_ = false;
    bool heard_back_ = false;           // a datagram came from the service: its address is right
    transport::frame_bytes last_sent_;  // kept until heard_back_, to resend after moving
    bool resent_ = false;               // last_sent_ was resent already
    std::uint64_t datagrams_up_ = 0;
    std::uint64_t datagrams_down_ = 0;
    std::uint64_t dropped_ = 0;
    std::chrono::steady_clock::time_point last_activity_;
};

}  // namespace tunnel
