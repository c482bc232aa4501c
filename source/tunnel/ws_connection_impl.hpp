#pragma once
// The Beast-backed implementation of ws_connection. Heavy: include only from .cpp files.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "tunnel/ws_connection.hpp"

namespace tunnel {

template <class WsStream>
class beast_ws_connection final : public ws_connection {
public:
    explicit beast_ws_connection(WsStream&& ws) : ws_(std::move(ws)) {}

    WsStream& stream() { return ws_; }

    boost::asio::awaitable<boost::system::error_code> read(boost::beast::flat_buffer& buffer,
                                                           bool& is_binary) override {
        auto [ec, n] = co_await ws_.async_read(buffer, boost::asio::as_tuple(boost::asio::use_awaitable));
        is_binary = ws_.got_binary();
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer message) override {
        ws_.binary(true);
        auto [ec, n] = co_await ws_.async_write(message, boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> write_text(std::string text) override {
        ws_.text(true);
        auto [ec, n] = co_await ws_.async_write(boost::asio::buffer(text),
                                                boost::asio::as_tuple(boost::asio::use_awaitable));
        ws_.binary(true);
        co_return ec;
    }

    boost::asio::awaitable<boost::system::error_code> close(std::uint16_t code) override {
        auto [ec] = co_await ws_.async_close(boost::beast::websocket::close_reason(code),
                                             boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return ec;
    }

    void abort() override {
        auto& socket = boost::beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ec;
        if (!socket.is_open()) return;
        socket.set_option(boost::asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
    }

    std::uint16_t peer_close_code() const override { return ws_.reason().code; }

    boost::asio::any_io_executor get_executor() override { return ws_.get_executor(); }

private:
    WsStream ws_;
};

}  // namespace tunnel
