#include "runner/tunnel_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/segments_view.hpp>

#include "log/logging.hpp"
#include "transport/beast_ws_connection.hpp"

namespace tunnel::runner {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace urls = boost::urls;
using asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

std::optional<std::string> tunnel_container_id(std::string_view target) {
    // Only a valid origin-form target (RFC 9112 3.2.1) names a container: a malformed escape or a
    // raw space is refused rather than guessed at. The client escapes every reserved character.
    auto const parsed = urls::parse_origin_form(target);
    if (!parsed) return std::nullopt;
    auto const segments = parsed->segments();  // decoded: "my%20ctr%2F1" is "my ctr/1"
    if (segments.size() != 3) return std::nullopt;
    auto it = segments.begin();
    if (*it++ != "ws" || *it++ != "tunnel" || (*it).empty()) return std::nullopt;
    return *it;
}

tunnel_listener::tunnel_listener(asio::any_io_executor ex, tcp::endpoint endpoint, listener_options options)
    : acceptor_(ex, endpoint), options_(options) {}

std::uint16_t tunnel_listener::port() const { return acceptor_.local_endpoint().port(); }

void tunnel_listener::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

namespace {

// Reads the upgrade request on stream (plain or TLS) and, when it is for /ws/tunnel/{id},
// completes the WebSocket handshake. nullptr for anything else (answered 404) or on error.
template <class Stream>
asio::awaitable<std::shared_ptr<tunnel_peer>> upgrade(Stream stream, listener_options const& options) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    auto [rec, rn] = co_await http::async_read(stream, buffer, request, use_tuple);
    if (rec) co_return nullptr;

    std::string const target(request.target());
    auto const id = tunnel_container_id(target);
    if (!websocket::is_upgrade(request) || !id) {
        http::response<http::string_body> response{http::status::not_found, request.version()};
        response.set(http::field::content_type, "text/plain");
        response.body() = "not a tunnel endpoint\n";
        response.prepare_payload();
        co_await http::async_write(stream, response, use_tuple);
        log_info("runner: rejected request", {{"target", target}});
        co_return nullptr;
    }
    for (auto const& [name, value] : options.required_headers) {
        auto const field = request.find(name);
        if (field != request.end() && field->value() == value) continue;
        http::response<http::string_body> response{http::status::unauthorized, request.version()};
        response.set(http::field::content_type, "text/plain");
        response.body() = "missing or wrong " + name + "\n";
        response.prepare_payload();
        co_await http::async_write(stream, response, use_tuple);
        log_info("runner: refused upgrade without a required header", {{"header", name}});
        co_return nullptr;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto const& field : request) headers.emplace_back(field.name_string(), field.value());

    beast::get_lowest_layer(stream).expires_never();
    using ws_type = websocket::stream<Stream>;
    ws_type ws(std::move(stream));
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    if (options.keepalive_timeout.count() > 0) {
        timeouts.idle_timeout = options.keepalive_timeout;
        timeouts.keep_alive_pings = true;
    } else {
        timeouts.idle_timeout = websocket::stream_base::none();
    }
    ws.set_option(timeouts);
    ws.read_message_max(options.max_message);
    ws.auto_fragment(false);
    ws.binary(true);
    auto [wec] = co_await ws.async_accept(request, use_tuple);
    if (wec) co_return nullptr;
    auto peer = std::make_shared<tunnel_peer>(std::make_unique<transport::beast_ws_connection<ws_type>>(std::move(ws)),
                                              *id, target, std::move(headers));
    peer->start();
    co_return peer;
}

}  // namespace

asio::awaitable<std::shared_ptr<tunnel_peer>> tunnel_listener::accept() {
    for (;;) {
        auto [aec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (aec == asio::error::operation_aborted || !acceptor_.is_open()) co_return nullptr;
        if (aec) continue;  // e.g. too many open files: try the next one

        beast::tcp_stream stream(std::move(socket));
        std::shared_ptr<tunnel_peer> peer;
        if (options_.tls) {
            beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *options_.tls);
            beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(10));
            auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
            if (hec) {
                log_info("runner: TLS handshake failed", {{"reason", hec.message()}});
                continue;
            }
            peer = co_await upgrade(std::move(tls), options_);
        } else {
            peer = co_await upgrade(std::move(stream), options_);
        }
        if (peer) co_return peer;
    }
}

}  // namespace tunnel::runner
