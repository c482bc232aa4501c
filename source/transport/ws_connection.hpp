#pragma once
// One WebSocket connection, plain (ws://) or TLS (wss://), client or server side, behind one small
// interface so that the client's session, the runner emulator and the tests need not be templates.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/frame_bytes.hpp"

namespace tunnel::transport {

enum class ws_message { binary, text };

// The most frames one write_frames call takes (two buffers each: Asio gathers 64 per call).
inline constexpr std::size_t max_frames_per_write = 32;

class ws_connection {
public:
    virtual ~ws_connection() = default;

    // Reads one whole message into buffer. is_binary tells binary from text.
    virtual boost::asio::awaitable<boost::system::error_code> read(boost::beast::flat_buffer& buffer,
                                                                   bool& is_binary) = 0;
    // The same, appended to message: a buffer that the reader may then keep (or move on).
    virtual boost::asio::awaitable<boost::system::error_code> read_message(protocol::frame_bytes& message,
                                                                           bool& is_binary) = 0;
    // Writes one message. Only the single writer of a connection may call this.
    virtual boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer message,
                                                                    ws_message kind = ws_message::binary) = 0;
    // Writes each buffer as one binary message, in order, in as few system calls as it can (at
    // most max_frames_per_write). The bytes may be changed (a client masks them in place): they
    // are spent once written. Only the single writer of a connection may call this. By default,
    // one write() each.
    virtual boost::asio::awaitable<boost::system::error_code> write_frames(
        std::span<boost::asio::mutable_buffer const> frames) {
        for (auto const& frame : frames) {
            auto const ec = co_await write(frame, ws_message::binary);
            if (ec) co_return ec;
        }
        co_return boost::system::error_code{};
    }
    // Close handshake with the given close code (1000 normal, 1001 going away).
    virtual boost::asio::awaitable<boost::system::error_code> close(std::uint16_t code) = 0;
    // Drops the TCP connection at once with a reset, for a peer that does not answer.
    virtual void abort() = 0;
    // Sends a ping unless one is still on its way (keepalive; the answer shows in frames_received).
    virtual void ping() = 0;
    // Frames received so far, control frames (ping, pong, close) included: proof of life.
    virtual std::uint64_t frames_received() const = 0;
    // Close code the peer sent, if it sent a close frame (0 otherwise).
    virtual std::uint16_t peer_close_code() const = 0;
    virtual boost::asio::any_io_executor get_executor() = 0;
};

}  // namespace tunnel::transport
