#pragma once
// Reaching a WebSocket server as a client: resolve, TCP connect, CONNECT through an HTTP proxy
// (when one is set), TLS (wss://), upgrade. Each step is bounded by the connect timeout; a refused
// CONNECT or upgrade says what the proxy or server answered.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/http_headers.hpp"
#include "transport/proxy_rules.hpp"
#include "transport/ws_connection.hpp"
#include "transport/ws_endpoint.hpp"

namespace boost::asio::ssl {
class context;
}

namespace tunnel::transport {

struct dial_options {
    ws_endpoint endpoint;
    std::chrono::milliseconds connect_timeout{10000};    // resolve + TCP + TLS + upgrade, each
    std::chrono::milliseconds keepalive_timeout{30000};  // silent peer: ping at half, dead at full
    std::size_t max_message = 4 * 1024 * 1024;           // larger incoming messages fail the read
    std::string user_agent;
    // wss://: the shared client context (trust, client certificate; see tls_trust.hpp), and the
    // name sent as SNI and verified (empty: the URL's host). verify_peer false = --tls-insecure.
    std::shared_ptr<boost::asio::ssl::context> tls_context;
    std::string tls_server_name;
    bool verify_peer = true;
    std::vector<http_header> headers;  // added to the upgrade request (secrets: never logged)
    std::optional<proxy_url> proxy;    // reach the server through CONNECT on this HTTP proxy
};

struct dial_result {
    std::unique_ptr<ws_connection> connection;
    boost::system::error_code error;
    std::string stage;   // "resolve", "connect", "proxy", "tls", "handshake": where it failed
    std::string detail;  // what the server (or proxy) answered instead ("HTTP 403 Forbidden")
    // "handshake: server answered HTTP 403 Forbidden", "proxy: proxy answered HTTP 407 ...",
    // "connect: Connection refused", ...
    std::string describe() const;
};

boost::asio::awaitable<dial_result> dial_websocket(boost::asio::any_io_executor ex, dial_options const& options);

}  // namespace tunnel::transport
