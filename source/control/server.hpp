#pragma once
// The control endpoint's server: takes over the claimed listening socket and answers each
// connection's one request (status, or stop). Only the client's own user is served (peer
// credentials); a request must come within a few seconds and fit in max_request bytes. A "stop"
// connection is held open until close(), so whoever asked sees this client's exit as its end.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "control/messages.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel::control {

struct server_options {
    std::chrono::milliseconds request_deadline{5000};
    std::size_t max_connections = 16;  // at once; more are answered "busy" and closed
};

class server {
public:
    // listening_fd: from claim_endpoint. on_stop: asked to stop (runs on the server's strand).
    server(boost::asio::any_io_executor ex, int listening_fd, identity who, status_board const& board,
           std::function<void()> on_stop, server_options options = {});
    ~server();
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    void start();
    // Stops listening and closes every connection (from any thread; returns at once).
    void close();

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace tunnel::control
