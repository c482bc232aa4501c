#pragma once
// The top-level coroutine: dial a session, run it, and when it ends dial again after the backoff
// delay, until stopped (exit 0) or --max-reconnect consecutive failures (exit 1).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "tunnel/config.hpp"

namespace tunnel {

class session;

class client {
public:
    client(boost::asio::any_io_executor ex, client_config config);

    // The executor every coroutine of the client runs on (a strand when threads > 1): co_spawn
    // run() on it.
    boost::asio::any_io_executor executor() const { return strand_; }

    // Returns the process exit code.
    boost::asio::awaitable<int> run();

    // Polite shutdown from any thread (e.g. a signal handler).
    void stop();

private:
    boost::asio::any_io_executor strand_;
    client_config config_;
    session* current_ = nullptr;
    bool stop_requested_ = false;
    boost::asio::steady_timer delay_;
};

}  // namespace tunnel
