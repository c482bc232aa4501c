#include "runner/tunnel_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "app/logging.hpp"
#include "tunnel/ws_connection_impl.hpp"

namespace tunnel::runner {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view tunnel_prefix = "/ws/tunnel/";
}  // namespace

std::string percent_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

tunnel_listener::tunnel_listener(asio::any_io_executor ex, tcp::endpoint endpoint, listener_options options)
    : acceptor_(ex, endpoint), options_(options) {}

std::uint16_t tunnel_listener::port() const { return acceptor_.local_endpoint().port(); }

void tunnel_listener::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<std::shared_ptr<tunnel_peer>> tunnel_listener::accept() {
    for (;;) {
        auto [aec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (aec == asio::error::operation_aborted || !acceptor_.is_open()) co_return nullptr;
        if (aec) continue;  // e.g. too many open files: try the next one

        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        stream.expires_after(std::chrono::seconds(10));
        auto [rec, rn] = co_await http::async_read(stream, buffer, request, use_tuple);
        if (rec) continue;

        std::string const target(request.target());
        bool const is_tunnel = target.starts_with(tunnel_prefix) && target.size() > tunnel_prefix.size();
        if (!websocket::is_upgrade(request) || !is_tunnel) {
            http::response<http::string_body> response{http::status::not_found, request.version()};
            response.set(http::field::content_type, "text/plain");
            response.body() = "not a tunnel endpoint\n";
            response.prepare_payload();
            co_await http::async_write(stream, response, use_tuple);
            log_info("runner: rejected request", {{"target", target}});
            continue;
        }
        std::string const id = percent_decode(std::string_view(target).substr(tunnel_prefix.size()));

        stream.expires_never();
        using ws_type = websocket::stream<beast::tcp_stream>;
        ws_type ws(std::move(stream));
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = std::chrono::seconds(10);
        timeouts.idle_timeout = options_.keepalive_timeout;
        timeouts.keep_alive_pings = true;
        ws.set_option(timeouts);
        ws.read_message_max(options_.max_message);
        ws.auto_fragment(false);
        ws.binary(true);
        auto [wec] = co_await ws.async_accept(request, use_tuple);
        if (wec) continue;
        auto peer = std::make_shared<tunnel_peer>(
            std::make_unique<beast_ws_connection<ws_type>>(std::move(ws)), id, target);
        peer->start();
        co_return peer;
    }
}

}  // namespace tunnel::runner
