#pragma once
// The queue in front of a WebSocket's single writer, as plain data (no I/O, no timers): frames in
// order, each tagged with its owner so that a stream's unsent frames can be withdrawn, and a
// cost in bytes that counts every frame, however small, against the budget.

#include <cstddef>
#include <cstdint>
#include <deque>

#include "protocol/frame_bytes.hpp"
#include "transport/ws_connection.hpp"

namespace tunnel::transport {

using protocol::frame_bytes;

struct outgoing_frame {
    frame_bytes bytes;
    std::uint64_t owner = 0;  // 0: nobody (never withdrawn by drop)
    ws_message kind = ws_message::binary;
};

class frame_queue {
public:
    // What a queued frame costs beyond its bytes (the queue entry and the allocation), so that a
    // flood of 8-byte frames is bounded by the same budget as a few large ones. The bytes are the
    // allocation's (capacity), not just the message's: that is the memory the frame holds.
    static constexpr std::size_t per_frame_cost = 64;
    static std::size_t cost(outgoing_frame const& f) { return f.bytes.capacity() + per_frame_cost; }

    explicit frame_queue(std::size_t budget) : budget_(budget) {}

    // Returns the cost added, 0 when the queue is closed (the frame is dropped).
    std::size_t push(outgoing_frame frame);
    // Withdraws owner's frames that are not being written; returns the cost removed.
    std::size_t drop(std::uint64_t owner);

    bool empty() const { return frames_.empty(); }
    // Puts the next frames in flight and returns how many: the front frame, and after a binary
    // one the binary frames behind it while fewer than max_frames and max_bytes are taken (a
    // text frame goes alone). They stay queued (alive) until pop_written().
    std::size_t begin_write(std::size_t max_frames = 1, std::size_t max_bytes = 0);
    outgoing_frame& in_flight(std::size_t i) { return frames_[i]; }
    // The frames in flight were written; returns their cost.
    std::size_t pop_written();
    // Drops everything but the frames whose write is in flight and refuses new frames; returns the
    // cost removed. finish_close() then drops the in-flight frames once their write has completed.
    std::size_t close();
    std::size_t finish_close();

    bool closed() const { return closed_; }
    bool writing() const { return in_flight_ != 0; }
    bool has_room() const { return queued_cost_ < budget_; }
    std::size_t queued_cost() const { return queued_cost_; }
    std::size_t budget() const { return budget_; }

private:
    std::deque<outgoing_frame> frames_;
    std::size_t queued_cost_ = 0;
    std::size_t budget_;
    std::size_t in_flight_ = 0;
    bool closed_ = false;
};

}  // namespace tunnel::transport
