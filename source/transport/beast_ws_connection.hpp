#pragma once
// The Beast-backed ws_connection. Heavy: include only from .cpp files.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>

#include "transport/ws_connection.hpp"

namespace tunnel::transport {

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

    boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer message,
                                                            ws_message kind) override {
        ws_.binary(kind == ws_message::binary);
        auto [ec, n] = co_await ws_.async_write(message, boost::asio::as_tuple(boost::asio::deferred));
        co_return ec;
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
    WsStream ws_;
    boost::asio::steady_timer close_grace_;
    std::uint64_t received_ = 0;
    std::shared_ptr<bool> ping_in_flight_ = std::make_shared<bool>(false);
};

}  // namespace tunnel::transport
