#pragma once
// Accepts tunnel clients the way the runner does: an HTTP upgrade to /ws/tunnel/{container_id};
// anything else gets 404. Keepalive like uvicorn: a ping when idle, a dead client dropped.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/tunnel_peer.hpp"

namespace tunnel::runner {

struct listener_options {
    // Ping after half of this without traffic, drop the client after all of it (uvicorn: 20 s + 20 s).
    // Zero: no keepalive at all, and so no timer re-armed on every read (the bench's runner).
    std::chrono::milliseconds keepalive_timeout{40000};
    std::size_t max_message = 16 * 1024 * 1024;
    // When set, clients must speak TLS (wss://) with this server context.
    std::shared_ptr<boost::asio::ssl::context> tls;
    // Headers (name, value) every upgrade must carry, as a reverse proxy checking a token would;
    // an upgrade without them is answered 401 Unauthorized.
    std::vector<std::pair<std::string, std::string>> required_headers;
};

class tunnel_listener {
public:
    tunnel_listener(boost::asio::any_io_executor ex, boost::asio::ip::tcp::endpoint endpoint,
                    listener_options options = {});

    std::uint16_t port() const;
    // The next tunnel client that completed its handshake (started, ready to use), or nullptr once
    // the listener is closed.
    boost::asio::awaitable<std::shared_ptr<tunnel_peer>> accept();
    void close();

private:
    boost::asio::ip::tcp::acceptor acceptor_;
    listener_options options_;
};

// The container id of a "/ws/tunnel/{id}" request target, percent-decoded; nullopt for any other
// target (another path, more segments, an empty id, a malformed escape).
std::optional<std::string> tunnel_container_id(std::string_view target);

}  // namespace tunnel::runner
