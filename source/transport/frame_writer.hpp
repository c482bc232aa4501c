#pragma once
// The single writer of a WebSocket: every frame goes through its queue, and only its coroutine
// calls write (two concurrent writes on a Beast stream are undefined). Single-executor: call
// everything on the executor it was made with. The queue is bounded in bytes: producers that
// respect the budget wait for room (the backpressure from the WebSocket to whoever feeds it).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>

#include "protocol/frame.hpp"
#include "transport/frame_queue.hpp"
#include "transport/wake_signal.hpp"

namespace tunnel::transport {

class frame_writer {
public:
    // on_release(cost) is called each time queued bytes leave the queue (written, dropped or
    // discarded at stop), so that an owner outside can mirror the queue's size.
    using release_hook = std::function<void(std::size_t)>;

    // batch_bytes: the most one write gathers (the front frame always goes, however large). The
    // default sends many small frames in one system call and a full DATA frame on its own.
    frame_writer(boost::asio::any_io_executor ex, std::size_t budget, release_hook on_release = {},
                 std::size_t batch_bytes = protocol::max_data_payload);

    // Queues a frame and returns its cost (0 once stopped: the frame is dropped). Never waits.
    std::size_t send(frame_bytes frame, std::uint64_t owner = 0, ws_message kind = ws_message::binary);
    // Withdraws the queued frames of `owner` (a replaced stream must not reach the new user).
    void drop(std::uint64_t owner);

    bool has_room() const { return queue_.has_room(); }
    std::size_t queued_bytes() const { return queue_.queued_cost(); }
    // Waits until the queue is below its budget. false once stopped.
    boost::asio::awaitable<bool> wait_for_room();

    // Drains the queue into ws until stop(), a write error (returned) or the coroutine is
    // cancelled (operation_aborted; the queue is dropped).
    boost::asio::awaitable<boost::system::error_code> run(ws_connection& ws);

    // Ends the writer: queued frames are dropped and every waiter is woken.
    void stop();
    bool stopped() const { return queue_.closed(); }

private:
    void released(std::size_t cost);

    frame_queue queue_;
    std::size_t const batch_bytes_;
    release_hook on_release_;
    wake_signal wake_writer_;
    wake_signal wake_producers_;
};

}  // namespace tunnel::transport
