#include "tunnel/ws_connection.hpp"

#include <openssl/ssl.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "tunnel/config.hpp"
#include "tunnel/ws_connection_impl.hpp"

namespace tunnel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

template <class Ws>
void configure(Ws& ws, client_config const& config) {
    // Beast's own timeouts: the handshake limit, and keepalive pings when idle with a dead-peer
    // verdict after keepalive_timeout of silence. Never race a websocket read against a timer.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = config.connect_timeout;
    timeouts.idle_timeout = config.keepalive_timeout;
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, std::string("tunnel-client/") + TUNNEL_VERSION);
    }));
    ws.read_message_max(config.max_message);
    ws.auto_fragment(false);
    ws.write_buffer_bytes(64 * 1024 + 64);
    ws.binary(true);
}

// Resolves and connects the TCP stream within the connect timeout.
asio::awaitable<dial_result> connect_tcp(beast::tcp_stream& stream, client_config const& config) {
    auto const& ep = config.endpoint;
    tcp::resolver resolver(stream.get_executor());
    asio::steady_timer deadline(stream.get_executor(), config.connect_timeout);
    auto raced =
        co_await (resolver.async_resolve(ep.host, ep.port, use_tuple) || deadline.async_wait(use_tuple));
    if (raced.index() == 1) co_return dial_result{nullptr, asio::error::timed_out, "resolve"};
    auto [rec, results] = std::get<0>(raced);
    if (rec) co_return dial_result{nullptr, rec, "resolve"};

    stream.expires_after(config.connect_timeout);
    auto [cec, endpoint] = co_await stream.async_connect(results, use_tuple);
    if (cec)
        co_return dial_result{nullptr, cec == beast::error::timeout ? asio::error::timed_out : cec,
                              "connect"};
    stream.socket().set_option(tcp::no_delay(true));
    co_return dial_result{};
}

template <class Ws>
asio::awaitable<dial_result> handshake(std::unique_ptr<beast_ws_connection<Ws>> conn,
                                       client_config const& config) {
    auto& ws = conn->stream();
    beast::get_lowest_layer(ws).expires_never();
    configure(ws, config);
    auto [ec] = co_await ws.async_handshake(config.endpoint.host_header, config.endpoint.target, use_tuple);
    if (ec) co_return dial_result{nullptr, ec, "handshake"};
    co_return dial_result{std::move(conn), {}, {}};
}

}  // namespace

asio::awaitable<dial_result> dial_runner(asio::any_io_executor ex, client_config const& config) {
    beast::tcp_stream stream(ex);
    auto connected = co_await connect_tcp(stream, config);
    if (connected.error) co_return connected;

    if (!config.endpoint.tls) {
        using ws_type = websocket::stream<beast::tcp_stream>;
        co_return co_await handshake(
            std::make_unique<beast_ws_connection<ws_type>>(ws_type(std::move(stream))), config);
    }

    // The TLS context outlives the connection: shared by every dial (a static is fine, it is immutable).
    static asio::ssl::context tls_context = [] {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        ctx.set_default_verify_paths();
        return ctx;
    }();
    using ws_type = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
    ws_type ws(std::move(stream), tls_context);
    auto& tls = ws.next_layer();
    if (!SSL_set_tlsext_host_name(tls.native_handle(), config.endpoint.host.c_str()))
        co_return dial_result{
            nullptr, beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
            "tls"};
    if (config.tls_insecure) {
        tls.set_verify_mode(asio::ssl::verify_none);
    } else {
        tls.set_verify_mode(asio::ssl::verify_peer);
        tls.set_verify_callback(asio::ssl::host_name_verification(config.endpoint.host));
    }
    beast::get_lowest_layer(ws).expires_after(config.connect_timeout);
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (ec) co_return dial_result{nullptr, ec, "tls"};
    co_return co_await handshake(std::make_unique<beast_ws_connection<ws_type>>(std::move(ws)), config);
}

}  // namespace tunnel
