#pragma once
// One WebSocket lifetime: dial, then a read loop dispatching frames to links, the single writer,
// and a closer for polite shutdown, run as one group; at the end every local connection is closed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "protocol/frame.hpp"
#include "tunnel/config.hpp"
#include "tunnel/session_state.hpp"

namespace tunnel {

class ws_connection;

struct session_outcome {
    bool came_up = false;                          // the WebSocket handshake succeeded
    std::chrono::steady_clock::duration up_for{};  // how long it stayed up
    std::string reason;                            // why it ended (or failed to start)
};

class session {
public:
    // ex must be a strand: every coroutine of the session runs on it.
    session(boost::asio::any_io_executor strand, client_config const& config);
    ~session();

    boost::asio::awaitable<session_outcome> run();

    // Polite shutdown: close the local sockets, send a close frame (going away), give the runner
    // a moment to answer, then drop the connection. Call on the strand.
    void stop();

private:
    boost::asio::awaitable<std::string> read_loop(ws_connection& ws);
    boost::asio::awaitable<void> write_loop(ws_connection& ws);
    boost::asio::awaitable<void> closer(ws_connection& ws);
    boost::asio::awaitable<void> dispatch(protocol::message const& message);
    bool downstream_full(link const& target) const;
    // target by value: the wait may outlive the table entry it came from.
    boost::asio::awaitable<void> wait_for_downstream_room(std::shared_ptr<link> target);
    void on_connect(protocol::header const& h);
    void end_links();

    std::shared_ptr<session_state> state_;
    boost::asio::steady_timer stop_signal_;
    bool stop_requested_ = false;
    bool read_ended_ = false;
    std::string end_reason_;
    // How long the read loop may still pause for full connections: refills while it reads, so
    // stalls back to back cannot starve the WebSocket's ping answers.
    std::chrono::steady_clock::duration stall_credit_;
    std::chrono::steady_clock::time_point last_pause_end_;
};

}  // namespace tunnel
