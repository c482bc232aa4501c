#pragma once
// The Beast-backed ws_connection. Heavy: include only from .cpp files. With TUNNEL_DIRECT_WS_WRITE
// (Boost 1.81 only: see CMakeLists.txt), a client's DATA frames are written around Beast when the
// stream under it is a write_lock_stream; otherwise each frame goes through Beast's own write.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>

#include "transport/ws_connection.hpp"

#if TUNNEL_DIRECT_WS_WRITE
#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/beast/websocket/detail/prng.hpp>
#include <boost/version.hpp>
#include <array>
#include <cstring>

#include "transport/write_lock_stream.hpp"
#include "transport/ws_frame_header.hpp"
#endif

namespace tunnel::transport {

#if TUNNEL_DIRECT_WS_WRITE
// write_frames_direct uses Beast's masking and key source (detail::mask_inplace, make_prng) as
// Boost 1.81 declares them: another Boost must be checked again before this number is changed.
static_assert(BOOST_VERSION / 100 == 1081, "beast_ws_connection.hpp uses Beast internals of Boost 1.81");

template <class T>
inline constexpr bool is_write_lock_stream = false;
template <class Next>
inline constexpr bool is_write_lock_stream<write_lock_stream<Next>> = true;
#else
template <class T>
inline constexpr bool is_write_lock_stream = false;
#endif

// After the peer's close frame, how long it gets to close the TCP connection before we drop it.
inline constexpr std::chrono::milliseconds peer_close_grace{1000};

template <class WsStream>
class beast_ws_connection final : public ws_connection {
public:
    explicit beast_ws_connection(WsStream&& ws) : ws_(std::move(ws)), close_grace_(ws_.get_executor()) {
        // Beast answers a close frame and then waits for the peer to close TCP, with no limit of
        // its own (the read only ends when the keepalive timer fires). A peer that sent its close
        // frame gets peer_close_grace; then the socket is dropped and the read ends.
        ws_.control_callback([this](boost::beast::websocket::frame_type kind, boost::beast::string_view) {
            ++received_;
            if (kind != boost::beast::websocket::frame_type::close) return;
            close_grace_.expires_after(peer_close_grace);
            close_grace_.async_wait([this](boost::system::error_code ec) {
                if (!ec) abort();  // (an aborted wait may outlive *this: touch nothing then)
            });
        });
    }

    WsStream& stream() { return ws_; }

    boost::asio::awaitable<boost::system::error_code> read(boost::beast::flat_buffer& buffer,
                                                           bool& is_binary) override {
        auto [ec, n] = co_await ws_.async_read(buffer, boost::asio::as_tuple(boost::asio::deferred));
        if (!ec) ++received_;
        is_binary = ws_.got_binary();
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> read_message(protocol::frame_bytes& message,
                                                                   bool& is_binary) override {
        auto buffer = boost::asio::dynamic_buffer(message);
        auto [ec, n] = co_await ws_.async_read(buffer, boost::asio::as_tuple(boost::asio::deferred));
        if (!ec) ++received_;
        is_binary = ws_.got_binary();
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer message,
                                                            ws_message kind) override {
        ws_.binary(kind == ws_message::binary);
        auto [ec, n] = co_await ws_.async_write(message, boost::asio::as_tuple(boost::asio::deferred));
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> write_frames(
        std::span<boost::asio::mutable_buffer const> frames) override {
#if TUNNEL_DIRECT_WS_WRITE
        if constexpr (is_write_lock_stream<typename WsStream::next_layer_type>)
            co_return co_await write_frames_direct(frames);
        else
#endif
            co_return co_await ws_connection::write_frames(frames);
    }

    boost::asio::awaitable<boost::system::error_code> close(std::uint16_t code) override {
        auto [ec] = co_await ws_.async_close(boost::beast::websocket::close_reason(code),
                                             boost::asio::as_tuple(boost::asio::deferred));
        co_return ec;
    }

    void abort() override {
        auto& socket = boost::beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ec;
        close_grace_.cancel();
        if (!socket.is_open()) return;
        socket.set_option(boost::asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
    }

    void ping() override {
        // Beast holds one waiting ping at most; the flag outlives *this if the ping does.
        if (*ping_in_flight_) return;
        *ping_in_flight_ = true;
        ws_.async_ping({}, [flag = ping_in_flight_](boost::system::error_code) { *flag = false; });
    }

    std::uint64_t frames_received() const override { return received_; }

    std::uint16_t peer_close_code() const override { return ws_.reason().code; }

    boost::asio::any_io_executor get_executor() override { return ws_.get_executor(); }

private:
#if TUNNEL_DIRECT_WS_WRITE
    // A client's DATA frames, written around Beast: each is masked where it lies (Beast would copy
    // it into its own buffer to mask it) and all of them leave in one gather write.
    boost::asio::awaitable<boost::system::error_code> write_frames_direct(
        std::span<boost::asio::mutable_buffer const> frames) {
        namespace ws_detail = boost::beast::websocket::detail;
        auto& stream = ws_.next_layer();
        co_await stream.lock();
        struct unlock_at_end {
            decltype(stream)& s;
            ~unlock_at_end() { s.unlock(); }
        } const unlock{stream};
        // Nothing may follow a close frame, and Beast may have written one while we waited.
        if (!ws_.is_open()) co_return boost::beast::websocket::error::closed;
        std::array<ws_frame_header, max_frames_per_write> headers;
        std::array<boost::asio::const_buffer, 2 * max_frames_per_write> buffers;
        if (frames.size() > max_frames_per_write) broken_write_rule("more frames in one write than max_frames_per_write");
        std::size_t const count = frames.size();
        for (std::size_t i = 0; i < count; ++i) {
            ws_detail::prepared_key key;
            std::uint32_t const random = mask_source_();
            std::memcpy(key.data(), &random, key.size());
            headers[i] = client_binary_header(frames[i].size(), key);
            ws_detail::mask_inplace(frames[i], key);
            buffers[2 * i] = boost::asio::buffer(headers[i].bytes.data(), headers[i].size);
            buffers[2 * i + 1] = frames[i];
        }
        auto [ec, n] = co_await stream.write_locked(std::span(buffers.data(), 2 * count));
        co_return ec;
    }

    // Beast's own source of masking keys (RFC 6455 asks for unpredictable ones).
    boost::beast::websocket::detail::generator mask_source_ =
        boost::beast::websocket::detail::make_prng(true);
#endif

    WsStream ws_;
    boost::asio::steady_timer close_grace_;
    std::uint64_t received_ = 0;
    std::shared_ptr<bool> ping_in_flight_ = std::make_shared<bool>(false);
};

}  // namespace tunnel::transport
