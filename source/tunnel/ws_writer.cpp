#include "tunnel/ws_writer.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tunnel/ws_connection.hpp"

namespace tunnel {

namespace asio = boost::asio;

ws_writer::ws_writer(asio::any_io_executor ex, std::size_t budget)
    : budget_(budget),
      wake_writer_(ex, asio::steady_timer::time_point::max()),
      wake_producers_(ex, asio::steady_timer::time_point::max()) {}

void ws_writer::send(frame_bytes frame, std::uint64_t owner) {
    if (stopped_) return;
    queued_bytes_ += frame.size();
    queue_.push_back(message{std::move(frame), owner, false});
    wake_writer_.cancel();
}

void ws_writer::send_text(std::string text) {
    if (stopped_) return;
    queued_bytes_ += text.size();
    queue_.push_back(message{frame_bytes(text.begin(), text.end()), 0, true});
    wake_writer_.cancel();
}

void ws_writer::drop(std::uint64_t owner) {
    if (owner == 0) return;
    auto const first = writing_ ? std::next(queue_.begin()) : queue_.begin();
    auto const kept =
        std::stable_partition(first, queue_.end(), [&](message const& m) { return m.owner != owner; });
    for (auto it = kept; it != queue_.end(); ++it) queued_bytes_ -= it->bytes.size();
    queue_.erase(kept, queue_.end());
    if (has_room()) wake_producers_.cancel();
}

asio::awaitable<bool> ws_writer::wait_for_room() {
    while (!stopped_ && !has_room()) co_await wake_producers_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !stopped_;
}

asio::awaitable<boost::system::error_code> ws_writer::run(ws_connection& ws) {
    while (!stopped_) {
        if (queue_.empty()) {
            co_await wake_writer_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        // The frame stays in the queue (alive) until its write completes.
        writing_ = true;
        boost::system::error_code ec;
        if (queue_.front().text) {
            std::string text(queue_.front().bytes.begin(), queue_.front().bytes.end());
            ec = co_await ws.write_text(std::move(text));
        } else {
            ec = co_await ws.write(asio::buffer(queue_.front().bytes));
        }
        writing_ = false;
        if (ec) {
            stop();
            co_return ec;
        }
        if (stopped_) break;  // stop() left the written frame in place; drop it now
        queued_bytes_ -= queue_.front().bytes.size();
        queue_.pop_front();
        if (has_room()) wake_producers_.cancel();
    }
    queue_.clear();
    co_return boost::system::error_code{};
}

void ws_writer::stop() {
    if (stopped_) return;
    stopped_ = true;
    // A frame being written must outlive its write: keep it, drop the rest.
    queue_.erase(writing_ ? std::next(queue_.begin()) : queue_.begin(), queue_.end());
    queued_bytes_ = 0;
    wake_writer_.cancel();
    wake_producers_.cancel();
}

}  // namespace tunnel
