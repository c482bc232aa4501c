#pragma once
// The control endpoint's server: takes over the claimed listening socket and answers each
// connection's one request (status, or stop). Only the client's own user is served (peer
// credentials); a request must come within a second and fit in max_request bytes, so that callers
// that connect and say nothing cannot keep the endpoint full for long. A "stop" connection is held
// open until close(), so whoever asked sees this client's exit as its end.
//
// The accept loop and each connection are coroutines on one strand; the connections belong to a
// task group. close() cancels the accept loop, which stops listening, cancels every connection
// and waits for them: then the server's work is done.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "control/messages.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel::control {

struct server_options {
    std::chrono::milliseconds request_deadline{1000};  // for the request, and then for the answer
    std::size_t max_connections = 16;                  // at once; more are answered "busy" and closed
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
    // Stops listening and ends every connection (from any thread; returns at once). Once they
    // have ended the server holds no more work on its executor.
    void close();

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace tunnel::control
