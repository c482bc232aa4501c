#pragma once
// The single writer of a session's WebSocket: every frame the client sends goes through its queue,
// and only its coroutine calls write (two concurrent writes on a Beast stream are undefined).
// The queue is bounded in bytes: local readers wait for room, which is the upstream backpressure.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace tunnel {

class ws_connection;

using frame_bytes = std::vector<std::uint8_t>;

class ws_writer {
public:
    ws_writer(boost::asio::any_io_executor ex, std::size_t budget);

    // Queues a frame. Never waits: control frames always go in; DATA producers call
    // wait_for_room() first. Frames sent after stop() are dropped. `owner` (a link's serial, 0 for
    // none) lets drop() withdraw a link's frames that have not gone out yet.
    void send(frame_bytes frame, std::uint64_t owner = 0);
    // Queues a text message. The client never sends one (the runner drops the tunnel on it);
    // the runner emulator uses it to check that clients ignore them.
    void send_text(std::string text);
    // Withdraws the queued frames of `owner` (a replaced stream must not reach the new user).
    void drop(std::uint64_t owner);

    bool has_room() const { return queued_bytes_ < budget_; }
    // Waits until the queue is below its budget (or wake_producers()). false once stopped.
    boost::asio::awaitable<bool> wait_for_room();
    // Wakes every producer waiting for room so that it can recheck its own state.
    void wake_producers() { wake_producers_.cancel(); }

    // Drains the queue into ws until stop() or a write error (returned).
    boost::asio::awaitable<boost::system::error_code> run(ws_connection& ws);

    // Ends the writer: queued frames are dropped and every waiter is woken.
    void stop();
    bool stopped() const { return stopped_; }
    std::size_t queued_bytes() const { return queued_bytes_; }

private:
    struct message {
        frame_bytes bytes;
        std::uint64_t owner = 0;
        bool text = false;
    };
    std::deque<message> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t budget_;
    bool stopped_ = false;
    bool writing_ = false;  // queue_.front() is being written and must stay alive
    // Both timers never expire: waiters wait, wakers cancel. (expires_at would cancel the other
    // waiters on a shared timer and make them spin.)
    boost::asio::steady_timer wake_writer_;
    boost::asio::steady_timer wake_producers_;
};

}  // namespace tunnel
