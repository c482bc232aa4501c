#pragma once
// The top-level coroutine: dial a session, run it, and when it ends dial again after the backoff
// delay, until stopped (exit 0) or --max-reconnect consecutive failures (exit 1).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>
#include <variant>

#include "transport/dial.hpp"
#include "transport/tls_trust.hpp"
#include "tunnel/config.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel {

class session;

// What dial_websocket needs to reach the runner, from the config: finds the CA source and loads
// the TLS files once, before any dial. Or a one-line reason to refuse to start (a missing or
// invalid file, no CA certificates anywhere).
std::variant<transport::dial_options, std::string> dial_options_for(
    client_config const& config, transport::trust_lookup const& trust = transport::system_trust_lookup());

class client {
public:
    // ex: the io_context's executor. With threads > 1 the client and each session run on a strand
    // of it, and every link on a strand of its own.
    // Each session reaches the runner with dial_websocket(options).
    client(boost::asio::any_io_executor ex, client_config config, transport::dial_options options);
    // dial: how each session reaches the runner (tests script it).
    client(boost::asio::any_io_executor ex, client_config config,
           std::function<boost::asio::awaitable<transport::dial_result>()> dial);

    // The executor run() must be spawned on.
    boost::asio::any_io_executor executor() const { return strand_; }

    // Returns the process exit code.
    boost::asio::awaitable<int> run();

    // Polite shutdown from any thread (e.g. a signal handler).
    void stop();

    // What `tunnel-client status` shows; readable from any thread.
    status_board const& board() const { return *board_; }

private:
    boost::asio::any_io_executor io_;
    boost::asio::any_io_executor strand_;
    client_config config_;
    std::function<boost::asio::awaitable<transport::dial_result>()> dial_;
    session* current_ = nullptr;
    bool stop_requested_ = false;
    boost::asio::steady_timer delay_;
    std::shared_ptr<status_board> board_ = std::make_shared<status_board>();
};

}  // namespace tunnel
