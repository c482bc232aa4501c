#include "transport/frame_queue.hpp"

#include <algorithm>
#include <iterator>

namespace tunnel::transport {

std::size_t frame_queue::push(outgoing_frame frame) {
    if (closed_) return 0;
    auto const added = cost(frame);
    queued_cost_ += added;
    frames_.push_back(std::move(frame));
    return added;
}

std::size_t frame_queue::drop(std::uint64_t owner) {
    if (owner == 0) return 0;
    auto const first = writing_ ? std::next(frames_.begin()) : frames_.begin();
    auto const kept =
        std::stable_partition(first, frames_.end(), [&](outgoing_frame const& f) { return f.owner != owner; });
    std::size_t removed = 0;
    for (auto it = kept; it != frames_.end(); ++it) removed += cost(*it);
    frames_.erase(kept, frames_.end());
    queued_cost_ -= removed;
    return removed;
}

outgoing_frame const& frame_queue::begin_write() {
    writing_ = true;
    return frames_.front();
}

std::size_t frame_queue::pop_written() {
    writing_ = false;
    auto const removed = cost(frames_.front());
    frames_.pop_front();
    queued_cost_ -= removed;
    return removed;
}

std::size_t frame_queue::close() {
    closed_ = true;
    auto const first = writing_ ? std::next(frames_.begin()) : frames_.begin();
    std::size_t removed = 0;
    for (auto it = first; it != frames_.end(); ++it) removed += cost(*it);
    frames_.erase(first, frames_.end());
    queued_cost_ -= removed;
    return removed;
}

std::size_t frame_queue::finish_close() {
    writing_ = false;
    std::size_t removed = 0;
    for (auto const& f : frames_) removed += cost(f);
    frames_.clear();
    queued_cost_ -= removed;
    return removed;
}

}  // namespace tunnel::transport
