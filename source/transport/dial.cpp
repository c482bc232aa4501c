#include "transport/dial.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "transport/beast_ws_connection.hpp"

namespace tunnel::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

template <class Ws>
void configure(Ws& ws, dial_options const& config) {
    // Beast's handshake limit. Keepalive pings and the dead-peer verdict are the session's
    // (Beast's idle timer would be re-armed, a timerfd syscall each time, on every read).
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = config.connect_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    // Credentials from the URL, unless a --header sets Authorization itself.
    std::string authorization;
    if (!config.endpoint.credentials.empty()) authorization = basic_authorization(config.endpoint.credentials);
    for (auto const& h : config.headers)
        if (beast::iequals(h.name, "Authorization")) authorization.clear();
    ws.set_option(websocket::stream_base::decorator(
        [agent = config.user_agent, authorization, headers = config.headers](websocket::request_type& req) {
            if (!agent.empty()) req.set(beast::http::field::user_agent, agent);
            if (!authorization.empty()) req.set(beast::http::field::authorization, authorization);
            for (auto const& h : headers) req.insert(h.name, h.value);
        }));
    ws.read_message_max(config.max_message);
    ws.auto_fragment(false);
    // A client masks every frame it sends, and Beast masks into its write buffer: at the default
    // 4 KiB a large DATA frame left in 4 KiB writes. On the path without the direct writer 64 KiB
    // took upload from 0.21x to 0.79x of the direct writer's (CPU per GiB 5.3x to 1.28x); 256 KiB
    // did no better. One buffer per connection to the runner.
    ws.write_buffer_bytes(64 * 1024);
    ws.binary(true);
}

// getaddrinfo cannot be cancelled, so the lookup runs on its own and the dial waits for it or
// the deadline, whichever comes first; a hung lookup is left behind, not waited for.
struct pending_resolve {
    explicit pending_resolve(asio::any_io_executor ex) : resolver(ex), done(ex) {}
    tcp::resolver resolver;
    asio::steady_timer done;
    boost::system::error_code error = asio::error::timed_out;
    tcp::resolver::results_type results;
    bool finished = false;
};

// Resolves and connects the TCP stream (to the proxy when there is one) within the connect timeout.
asio::awaitable<dial_result> connect_tcp(beast::tcp_stream& stream, dial_options const& config) {
    auto const& host = config.proxy ? config.proxy->host : config.endpoint.host;
    auto const& port = config.proxy ? config.proxy->port : config.endpoint.port;
    std::string const prefix = config.proxy ? "proxy " : "";
    auto lookup = std::make_shared<pending_resolve>(stream.get_executor());
    lookup->done.expires_after(config.connect_timeout);
    lookup->resolver.async_resolve(host, port, [lookup](boost::system::error_code ec, auto results) {
        lookup->error = ec;
        lookup->results = std::move(results);
        lookup->finished = true;
        lookup->done.cancel();
    });
    co_await lookup->done.async_wait(use_tuple);
    if (!lookup->finished) co_return dial_result{nullptr, asio::error::timed_out, prefix + "resolve", {}};
    if (lookup->error) co_return dial_result{nullptr, lookup->error, prefix + "resolve", {}};
    auto const& results = lookup->results;

    stream.expires_after(config.connect_timeout);
    auto [cec, endpoint] = co_await stream.async_connect(results, use_tuple);
    if (cec)
        co_return dial_result{nullptr, cec == beast::error::timeout ? asio::error::timed_out : cec,
                              prefix + "connect", {}};
    boost::system::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    co_return dial_result{};
}

// Asks the proxy for a tunnel to the server (RFC 9110 CONNECT): for ws:// too, since a proxy that
// forwards plain requests does not pass an upgraded connection through.
asio::awaitable<dial_result> proxy_connect(beast::tcp_stream& stream, dial_options const& config) {
    namespace http = beast::http;
    auto const& ep = config.endpoint;
    std::string const authority = connect_target(ep.host, ep.port);
    http::request<http::empty_body> request{http::verb::connect, authority, 11};
    request.set(http::field::host, authority);
    if (!config.user_agent.empty()) request.set(http::field::user_agent, config.user_agent);
    if (!config.proxy->credentials.empty())
        request.set(http::field::proxy_authorization, basic_authorization(config.proxy->credentials));

    stream.expires_after(config.connect_timeout);
    auto [wec, written] = co_await http::async_write(stream, request, use_tuple);
    if (wec) co_return dial_result{nullptr, wec == beast::error::timeout ? asio::error::timed_out : wec, "proxy", {}};
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a CONNECT answer has no body; a refusal's body is not needed
    auto [rec, read] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (rec) co_return dial_result{nullptr, rec == beast::error::timeout ? asio::error::timed_out : rec, "proxy", {}};
    auto const& response = parser.get();
    if (response.result_int() / 100 != 2) {
        std::string text = "HTTP " + std::to_string(response.result_int());
        if (!response.reason().empty()) text += " " + std::string(response.reason());
        co_return dial_result{nullptr, asio::error::connection_refused, "proxy", text};
    }
    // The server speaks only after the client: anything already here did not come from it.
    if (buffer.size() != 0) co_return dial_result{nullptr, asio::error::invalid_argument, "proxy", {}};
    co_return dial_result{};
}

// What the server answered instead of switching protocols: its status line, and where a redirect
// points (redirects are not followed: the runner URL is what the user configured).
std::string describe_refusal(beast::error_code ec, websocket::response_type const& response) {
    if (ec != websocket::error::upgrade_declined || response.result_int() == 0) return {};
    std::string text = "HTTP " + std::to_string(response.result_int());
    if (!response.reason().empty()) text += " " + std::string(response.reason());
    auto const location = response.find(beast::http::field::location);
    if (location != response.end())
        text += " (Location: " + std::string(location->value()) + "; redirects are not followed)";
    return text;
}

template <class Ws>
asio::awaitable<dial_result> handshake(std::unique_ptr<beast_ws_connection<Ws>> conn,
                                       dial_options const& config) {
    auto& ws = conn->stream();
    beast::get_lowest_layer(ws).expires_never();
    configure(ws, config);
    websocket::response_type response;
    auto [ec] = co_await ws.async_handshake(response, config.endpoint.host_header, config.endpoint.target,
                                            use_tuple);
    if (ec) co_return dial_result{nullptr, ec, "handshake", describe_refusal(ec, response)};
    co_return dial_result{std::move(conn), {}, {}, {}};
}

// What the WebSocket runs on. With the direct writer: a write_lock_stream, so that the frame
// writer can write DATA frames around Beast, over Asio's TLS stream itself (Beast's ssl_stream
// adds a flat_stream that copies the first 64 KiB of every gathered write into one buffer, for
// writers that send small pieces; the direct writer sends whole frames). Else the stream itself,
// and Beast's ssl_stream for its small pieces.
#if TUNNEL_DIRECT_WS_WRITE
template <class Next>
using under_websocket = write_lock_stream<Next>;
using tls_stream = asio::ssl::stream<beast::tcp_stream>;
template <class Ws>
auto& tls_layer(Ws& ws) {
    return ws.next_layer().next_layer();
}
#else
template <class Next>
using under_websocket = Next;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
template <class Ws>
auto& tls_layer(Ws& ws) {
    return ws.next_layer();
}
#endif

}  // namespace

std::string ws_endpoint::url() const { return std::string(tls ? "wss://" : "ws://") + host_header + target; }

std::string dial_result::describe() const {
    if (!error) return {};
    if (!detail.empty()) return stage + (stage == "proxy" ? ": proxy answered " : ": server answered ") + detail;
    return stage + ": " + error.message();
}

asio::awaitable<dial_result> dial_websocket(asio::any_io_executor ex, dial_options const& config) {
    beast::tcp_stream stream(ex);
    auto connected = co_await connect_tcp(stream, config);
    if (connected.error) co_return connected;
    if (config.proxy) {
        auto tunneled = co_await proxy_connect(stream, config);
        if (tunneled.error) co_return tunneled;
    }

    if (!config.endpoint.tls) {
        using ws_type = websocket::stream<under_websocket<beast::tcp_stream>>;
        co_return co_await handshake(
            std::make_unique<beast_ws_connection<ws_type>>(ws_type(std::move(stream))), config);
    }

    // The context is built once (tls_trust.hpp) and shared by every dial; it outlives each stream.
    if (!config.tls_context) co_return dial_result{nullptr, asio::error::no_protocol_option, "tls", {}};
    using ws_type = websocket::stream<under_websocket<tls_stream>>;
    ws_type ws(std::move(stream), *config.tls_context);
    auto& tls = tls_layer(ws);
    auto const& name = config.tls_server_name.empty() ? config.endpoint.host : config.tls_server_name;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    // SNI carries host names only (RFC 6066): a runner reached by address gets none.
    if (not_ip && !SSL_set_tlsext_host_name(tls.native_handle(), name.c_str()))
        co_return dial_result{
            nullptr, beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
            "tls", {}};
    if (!config.verify_peer) {
        tls.set_verify_mode(asio::ssl::verify_none);
    } else {
        tls.set_verify_mode(asio::ssl::verify_peer);
        tls.set_verify_callback(asio::ssl::host_name_verification(name));
    }
    beast::get_lowest_layer(ws).expires_after(config.connect_timeout);
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (ec) co_return dial_result{nullptr, ec, "tls", {}};
    co_return co_await handshake(std::make_unique<beast_ws_connection<ws_type>>(std::move(ws)), config);
}

}  // namespace tunnel::transport
