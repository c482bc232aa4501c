#pragma once
// A link is one client_id's local connection (TCP or UDP). This base holds what both kinds share:
// the connection rules (link_state) and carrying out their effects, the byte leases, the queue of
// the runner's bytes, the hand-off of the session's events to the link's own strand, and starting
// its coroutine pair (pump_up: local -> runner, pump_down: runner -> local) as two children of the
// session's task group, which ends them by cancellation and awaits them. tcp_link and udp_link do
// the socket work.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/frame.hpp"
#include "transport/frame_queue.hpp"
#include "transport/task_group.hpp"
#include "transport/wake_signal.hpp"
#include "tunnel/byte_account.hpp"
#include "tunnel/chunk_queue.hpp"
#include "tunnel/link_state.hpp"
#include "tunnel/session_context.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel {

class link : public std::enable_shared_from_this<link> {
public:
    virtual ~link();

    std::uint32_t client_id() const { return client_id_; }
    std::uint16_t port() const { return port_; }
    std::uint64_t serial() const { return serial_; }  // unique in the process: tags its frames
    boost::asio::any_io_executor const& executor() const { return executor_; }
    // Bytes from the runner not yet written to the local socket. Any thread.
    std::size_t pending_bytes() const { return downstream_.held(); }

    // Starts the pair on executor(), each a child of group (the session's). A pump that throws
    // fails its link alone (CLOSE to the runner); a cancellation (the session's end) closes it
    // without a word, the runner having forgotten the id.
    void start(transport::task_group<std::shared_ptr<link>>& group);

    // ---- called on the session's strand; each event then runs on the link's strand ----
    // The runner's DATA: message is the whole frame, its payload after the header. A large one is
    // taken as it is (message is left empty), a small one copied.
    void post_data(protocol::frame_bytes& message);
    void post_runner_close();
    void post_replaced();  // a newer CONNECT took the id: close silently
    void post_fail(std::string reason);

protected:
    link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port, protocol::proto p);

    // ---- on the link's strand ----
    virtual boost::asio::awaitable<void> pump_up() = 0;  // opens the local connection first
    virtual boost::asio::awaitable<void> pump_down() = 0;
    virtual void begin_flush() = 0;   // the state is flushing now: write what is queued, then close
    virtual void close_socket() = 0;  // close at once (what is queued is dropped)

    // Bytes from the runner, in order (counted in downstream_ already); the downstream pump
    // writes them out.
    virtual void deliver(chunk_queue::chunk data);
    // Where each pump ends: when the session ended it, the link closes without a word.
    void pump_ended(boost::asio::cancellation_state const& state);
    void failed_with(std::exception_ptr error);
    // Carries out what the rules decided; reason is ERROR's payload (or the CLOSE's log line).
    void apply(link_effects effects, std::string_view reason = {});
    void fail(std::string_view reason);
    // An upstream DATA frame (header written by the caller).
    void send_data(transport::frame_bytes frame);
    // Waits while the upstream budget is full. false once the link is closed.
    boost::asio::awaitable<bool> wait_for_upstream_room();
    // Empties the downstream queue (the link is closed) and gives its bytes back.
    void drop_pending();
    void log_opened() const;

    std::shared_ptr<session_context> ctx_;
    boost::asio::any_io_executor executor_;
    link_state state_;
    chunk_queue pending_;       // bytes from the runner waiting for the local socket
    transport::wake_signal downstream_wake_;  // the downstream pump looks again (bytes, or a new state)
    byte_lease downstream_;     // pending_'s bytes, counted against the session's budget
    byte_lease reply_reserve_;  // upstream room held until CONNECTED or ERROR is queued
    // Made on the first wait for upstream room: most links never wait, and an idle link should
    // cost little (thousands may be open).
    std::unique_ptr<transport::wake_signal> room_;
    std::uint32_t const client_id_;
    std::uint16_t const port_;
    protocol::proto const proto_;
    std::uint64_t const serial_;
    link_stats stats_;  // its row in `status`, listed from construction to destruction

private:
    void send_control(protocol::msg_type type, std::string_view payload, bool last);
};

// Whether a coroutine's cancellation state (co_await this_coro::cancellation_state) says its
// owner is ending it.
inline bool cancelled(boost::asio::cancellation_state const& state) {
    return state.cancelled() != boost::asio::cancellation_type::none;
}

}  // namespace tunnel
