#pragma once
// Reaching a WebSocket server as a client: resolve, TCP connect, TLS (wss://), upgrade. Each step
// is bounded by the connect timeout; a refused upgrade says what the server answered.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "transport/ws_connection.hpp"
#include "transport/ws_endpoint.hpp"

namespace tunnel::transport {

struct dial_options {
    ws_endpoint endpoint;
    std::chrono::milliseconds connect_timeout{10000};    // resolve + TCP + TLS + upgrade, each
    std::chrono::milliseconds keepalive_timeout{30000};  // silent peer: ping at half, dead at full
    std::size_t max_message = 4 * 1024 * 1024;           // larger incoming messages fail the read
    bool tls_insecure = false;
    std::string user_agent;
};

struct dial_result {
    std::unique_ptr<ws_connection> connection;
    boost::system::error_code error;
    std::string stage;   // "resolve", "connect", "tls", "handshake": where it failed
    std::string detail;  // what the server answered to a refused upgrade ("HTTP 403 Forbidden")
    // "handshake: server answered HTTP 403 Forbidden", "connect: Connection refused", ...
    std::string describe() const;
};

boost::asio::awaitable<dial_result> dial_websocket(boost::asio::any_io_executor ex, dial_options const& options);

}  // namespace tunnel::transport
