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
    // wait_for_room() first. Frames sent after stop() are dropped.
    void send(frame_bytes frame);
    // Queues a text message. The client never sends one (the runner drops the tunnel on it);
    // the runner emulator uses it to check that clients ignore them.
    void send_text(std::string text);

    bool has_room() const { return queued_bytes_ < budget_; }
    // Waits until the queue is below its budget. false once the writer has stopped.
    boost::asio::awaitable<bool> wait_for_room();

    // Drains the queue into ws until stop() or a write error (returned).
    boost::asio::awaitable<boost::system::error_code> run(ws_connection& ws);

    // Ends the writer: queued frames are dropped and every waiter is woken.
    void stop();
    bool stopped() const { return stopped_; }
    std::size_t queued_bytes() const { return queued_bytes_; }

  private:
    struct message {
        frame_bytes bytes;
        bool text = false;
    };
    std::deque<message> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t budget_;
    bool stopped_ = false;
    bool writing_ = false;
    boost::asio::steady_timer wake_writer_;
    boost::asio::steady_timer wake_producers_;
};

}  // namespace tunnel
