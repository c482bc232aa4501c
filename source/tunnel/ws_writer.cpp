#include "tunnel/ws_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tunnel/ws_connection.hpp"

namespace tunnel {

namespace asio = boost::asio;

ws_writer::ws_writer(asio::any_io_executor ex, std::size_t budget)
    : budget_(budget), wake_writer_(ex), wake_producers_(ex) {}

void ws_writer::send(frame_bytes frame) {
    if (stopped_) return;
    queued_bytes_ += frame.size();
    queue_.push_back(message{std::move(frame), false});
    wake_writer_.cancel();
}

void ws_writer::send_text(std::string text) {
    if (stopped_) return;
    queued_bytes_ += text.size();
    queue_.push_back(message{frame_bytes(text.begin(), text.end()), true});
    wake_writer_.cancel();
}

asio::awaitable<bool> ws_writer::wait_for_room() {
    while (!stopped_ && !has_room()) {
        wake_producers_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_producers_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return !stopped_;
}

asio::awaitable<boost::system::error_code> ws_writer::run(ws_connection& ws) {
    while (!stopped_) {
        if (queue_.empty()) {
            wake_writer_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_writer_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        // The frame stays in the queue (alive) until its write completes.
        writing_ = true;
        auto& front = queue_.front();
        auto ec = front.text ? co_await ws.write_text(std::string(front.bytes.begin(), front.bytes.end()))
                             : co_await ws.write(asio::buffer(front.bytes));
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
