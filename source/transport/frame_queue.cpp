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
    auto const first = frames_.begin() + static_cast<std::ptrdiff_t>(in_flight_);
    auto const kept =
        std::stable_partition(first, frames_.end(), [&](outgoing_frame const& f) { return f.owner != owner; });
    std::size_t removed = 0;
    for (auto it = kept; it != frames_.end(); ++it) removed += cost(*it);
    frames_.erase(kept, frames_.end());
    queued_cost_ -= removed;
    return removed;
}

std::size_t frame_queue::begin_write(std::size_t max_frames, std::size_t max_bytes) {
    if (frames_.empty()) return 0;
    std::size_t bytes = frames_.front().bytes.size();
    in_flight_ = 1;
    if (frames_.front().kind != ws_message::binary) return in_flight_;
    while (in_flight_ < frames_.size() && in_flight_ < max_frames) {
        auto const& next = frames_[in_flight_];
        if (next.kind != ws_message::binary || bytes + next.bytes.size() > max_bytes) break;
        bytes += next.bytes.size();
        ++in_flight_;
    }
    return in_flight_;
}

std::size_t frame_queue::pop_written() {
    std::size_t removed = 0;
    for (std::size_t i = 0; i < in_flight_; ++i) removed += cost(frames_[i]);
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
    in_flight_ = 0;
    queued_cost_ -= removed;
    return removed;
}

std::size_t frame_queue::close() {
    closed_ = true;
    auto const first = frames_.begin() + static_cast<std::ptrdiff_t>(in_flight_);
    std::size_t removed = 0;
    for (auto it = first; it != frames_.end(); ++it) removed += cost(*it);
    frames_.erase(first, frames_.end());
    queued_cost_ -= removed;
    return removed;
}

std::size_t frame_queue::finish_close() {
    in_flight_ = 0;
    std::size_t removed = 0;
    for (auto const& f : frames_) removed += cost(f);
    frames_.clear();
    queued_cost_ -= removed;
    return removed;
}

}  // namespace tunnel::transport
