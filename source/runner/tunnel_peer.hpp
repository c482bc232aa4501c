#pragma once
// The runner's side of one connected tunnel client: receive its messages, send frames through a
// single writer (as the real runner does), close politely or drop it like a crashed runner.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transport/frame_writer.hpp"

namespace tunnel::transport {
class ws_connection;
}

namespace tunnel::runner {

using transport::frame_bytes;
using transport::ws_connection;

struct incoming_message {
    bool binary = true;
    std::vector<std::uint8_t> bytes;
};

class tunnel_peer : public std::enable_shared_from_this<tunnel_peer> {
public:
    tunnel_peer(std::unique_ptr<ws_connection> ws, std::string container_id, std::string target,
                std::vector<std::pair<std::string, std::string>> request_headers = {});
    ~tunnel_peer();

    std::string const& container_id() const { return container_id_; }
    std::string const& target() const { return target_; }  // the request target the client used
    // The upgrade request's header fields (name as sent, value), in order.
    std::vector<std::pair<std::string, std::string>> const& request_headers() const { return request_headers_; }

    // Starts the writer. Call once, on the peer's executor.
    void start();

    void send(frame_bytes frame) { writer_.send(std::move(frame)); }
    void send(std::vector<std::uint8_t> const& message) { send(frame_bytes(message.begin(), message.end())); }
    void send_text(std::string const& text) {
        writer_.send(frame_bytes(text.begin(), text.end()), 0, transport::ws_message::text);
    }
    // DATA with backpressure: waits while the writer's queue is full. false once the peer is gone.
    boost::asio::awaitable<bool> send_data(frame_bytes frame);

    // The next message, or nullopt when the connection is over (see end_error / peer_close_code).
    // One receive at a time.
    boost::asio::awaitable<std::optional<incoming_message>> receive();
    // Like receive(), but into a caller-owned buffer (emptied first, then holding the whole message)
    // so that a hot read loop allocates nothing per message. false when the connection is over.
    boost::asio::awaitable<bool> receive_into(boost::beast::flat_buffer& buffer, bool& binary);

    boost::system::error_code end_error() const { return end_error_; }
    std::uint16_t peer_close_code() const;
    bool ended() const { return ended_; }

    // TCP_NODELAY on the tunnel's socket (the real runner's asyncio transports set it); false when
    // the connection is not a plain TCP WebSocket. The listener leaves Nagle on; the bench turns it off.
    bool set_no_delay(bool on);

    // A WebSocket ping, unless the last one is still being written. The client's pongs show in
    // frames_received(), which counts control frames too.
    void ping();
    std::uint64_t frames_received() const;

    // Polite close (close frame with code), or drop the TCP connection without one (runner crash).
    void close(std::uint16_t code = 1000);
    void abort();

private:
    std::unique_ptr<ws_connection> ws_;
    std::string container_id_;
    std::string target_;
    std::vector<std::pair<std::string, std::string>> request_headers_;
    transport::frame_writer writer_;
    bool ended_ = false;
    bool closing_ = false;
    boost::system::error_code end_error_;
};

}  // namespace tunnel::runner
