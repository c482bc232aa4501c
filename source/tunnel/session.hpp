#pragma once
// One WebSocket lifetime: dial, then the read loop dispatching frames to links, the single writer,
// the keepalive and the polite closer, run as one parallel group: the first to end (the runner
// gone, a write failed, a dead peer, a stop) cancels the others. The session owns its links as
// children in a task group: when it ends it cancels them and awaits every one before run()
// returns, so that nothing outlives it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "protocol/frame.hpp"
#include "transport/dial.hpp"
#include "transport/task_group.hpp"
#include "tunnel/config.hpp"
#include "tunnel/session_rules.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel {

class link;
class session_context;

struct session_outcome {
    bool came_up = false;                          // the WebSocket handshake succeeded
    std::chrono::steady_clock::duration up_for{};  // how long it stayed up
    std::string reason;                            // why it ended (or failed to start)
};

class session {
public:
    using dialer = std::function<boost::asio::awaitable<transport::dial_result>()>;
    // Makes the link for a CONNECT (tests substitute their own); the default opens TCP or UDP.
    using link_factory =
        std::function<std::shared_ptr<link>(std::shared_ptr<session_context>, protocol::header const&)>;

    // strand: every coroutine of the session runs on it; io: where links make their own strands.
    // board: where it reports for `status` (its own when none is given).
    session(boost::asio::any_io_executor io, boost::asio::any_io_executor strand, client_config const& config,
            dialer dial, link_factory make_link = {}, std::shared_ptr<status_board> board = {});
    ~session();

    boost::asio::awaitable<session_outcome> run();

    // Asks for a polite shutdown: the local sockets close, a close frame (going away) goes to the
    // runner, which gets a moment to answer, then the connection is dropped. Call on the strand.
    void stop();

    std::shared_ptr<session_context> const& context() const { return ctx_; }
    // Links still running (opening, open or flushing).
    std::size_t running_links() const;

private:
    boost::asio::awaitable<void> read_loop(transport::ws_connection& ws);
    boost::asio::awaitable<void> write_loop(transport::ws_connection& ws);
    boost::asio::awaitable<void> close_on_stop(transport::ws_connection& ws);
    // Pings a quiet runner at half the keepalive timeout; drops one silent for all of it.
    boost::asio::awaitable<void> keepalive(transport::ws_connection& ws);
    // Acts on one runner frame (raw: its bytes, which DATA may take); returns the link that took
    // DATA (its bound is checked next).
    std::shared_ptr<link> dispatch(protocol::message const& message, protocol::frame_bytes& raw);
    void refuse_connect(protocol::header const& h, bool replacing, std::string const& why);
    void open_link(protocol::header const& h, bool replacing);
    // false when the runner made no room for keepalive_timeout: it stopped reading.
    boost::asio::awaitable<bool> wait_for_upstream_room();
    boost::asio::awaitable<void> wait_for_downstream_room(std::shared_ptr<link> target);
    void cut_fullest_links(std::shared_ptr<link> const& target);
    // The session is over for its links: none is opened any more, each is cancelled.
    void end_links();
    boost::asio::awaitable<void> wait_for_links();
    // Records why the session ends; the first reason given wins.
    void end(std::string reason);

    std::shared_ptr<session_context> ctx_;
    transport::task_group<std::shared_ptr<link>> links_;
    dialer dial_;
    link_factory make_link_;
    downstream_limits limits_;
    stall_credit credit_;
    // A stop request, held until the closer takes it (it may come before the closer waits).
    boost::asio::experimental::channel<void(boost::system::error_code)> stop_requests_;
    std::string end_reason_;
    bool read_paused_ = false;  // the read loop waits for room in a budget
};

}  // namespace tunnel
