#include "transport/frame_writer.hpp"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <span>

namespace tunnel::transport {

namespace asio = boost::asio;

frame_writer::frame_writer(asio::any_io_executor ex, std::size_t budget, release_hook on_release,
                           std::size_t batch_bytes)
    : queue_(budget),
      batch_bytes_(batch_bytes),
      on_release_(std::move(on_release)),
      wake_writer_(ex),
      wake_producers_(ex) {}

std::size_t frame_writer::send(frame_bytes frame, std::uint64_t owner, ws_message kind) {
    auto const added = queue_.push(outgoing_frame{std::move(frame), owner, kind});
    if (added) wake_writer_.notify();
    return added;
}

void frame_writer::drop(std::uint64_t owner) { released(queue_.drop(owner)); }

void frame_writer::released(std::size_t cost) {
    if (cost == 0) return;
    if (on_release_) on_release_(cost);
    if (queue_.has_room()) wake_producers_.notify();
}

asio::awaitable<bool> frame_writer::wait_for_room() {
    while (!queue_.closed() && !queue_.has_room()) co_await wake_producers_.wait();
    co_return !queue_.closed();
}

asio::awaitable<boost::system::error_code> frame_writer::run(ws_connection& ws) {
    while (!queue_.closed()) {
        if (queue_.empty()) {
            co_await wake_writer_.wait();
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cs.cancelled() != asio::cancellation_type::none) {
                stop();  // its owner ends it
                released(queue_.finish_close());
                co_return asio::error::operation_aborted;
            }
            continue;
        }
        // The frames stay queued (alive) until their write completes.
        auto const count = queue_.begin_write(max_frames_per_write, batch_bytes_);
        boost::system::error_code ec;
        if (auto& front = queue_.in_flight(0); front.kind != ws_message::binary) {
            ec = co_await ws.write(asio::buffer(front.bytes), front.kind);
        } else {
            std::array<asio::mutable_buffer, max_frames_per_write> frames;
            for (std::size_t i = 0; i < count; ++i) frames[i] = asio::buffer(queue_.in_flight(i).bytes);
            ec = co_await ws.write_frames(std::span<asio::mutable_buffer const>(frames.data(), count));
        }
        if (queue_.closed()) break;  // stop() kept the frames alive for this write; dropped below
        if (ec) {
            stop();
            released(queue_.finish_close());
            co_return ec;
        }
        released(queue_.pop_written());
    }
    released(queue_.finish_close());
    co_return boost::system::error_code{};
}

void frame_writer::stop() {
    if (queue_.closed()) return;
    auto const removed = queue_.close();
    if (!queue_.writing()) queue_.finish_close();
    if (removed && on_release_) on_release_(removed);
    wake_writer_.notify();
    wake_producers_.notify();
}

}  // namespace tunnel::transport
