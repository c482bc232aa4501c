#pragma once
// The session's decisions as plain data (no sockets, no timers), so that they are unit-tested on
// their own: what each runner frame calls for, who owns each client_id, when the read loop must
// pause (a budget is full), and how long it may pause for a full local connection.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <unordered_map>
#include <utility>

#include "protocol/frame.hpp"

namespace tunnel {

enum class frame_action {
    open,                // CONNECT for a free id: open a local connection
    replace,             // CONNECT for an id in use: the newest wins, the old one closes silently
    refuse_proto,        // CONNECT with an unknown proto: ERROR
    deliver,             // DATA for an open id
    close,               // CLOSE for an open id
    pong,                // PING: PONG with the same id
    ignore_unknown_id,   // late DATA or repeated CLOSE for an id that is over
    ignore_client_side,  // CONNECTED, ERROR, PONG: types only the client sends
    ignore_unknown_type,
    ignore_stopping,  // shutting down: nothing new is opened or delivered
};

frame_action decide(protocol::header const& h, bool id_in_use, bool stopping);

// client_id -> the link that owns it now (a CONNECT for an id in use replaces the owner).
template <class Owner>
class id_table {
public:
    Owner const* find(std::uint32_t id) const {
        auto it = owners_.find(id);
        return it == owners_.end() ? nullptr : &it->second;
    }
    bool owns(std::uint32_t id, Owner const& owner) const {
        auto const* o = find(id);
        return o && *o == owner;
    }
    // Returns the previous owner (empty when the id was free).
    Owner assign(std::uint32_t id, Owner owner) {
        auto& slot = owners_[id];
        auto previous = std::move(slot);
        slot = std::move(owner);
        return previous;
    }
    // Lets the id go only if `owner` still owns it (a newer owner is kept).
    bool release(std::uint32_t id, Owner const& owner) {
        auto it = owners_.find(id);
        if (it == owners_.end() || !(it->second == owner)) return false;
        owners_.erase(it);
        return true;
    }
    // Forgets every id; returns the owners.
    std::unordered_map<std::uint32_t, Owner> take_all() { return std::exchange(owners_, {}); }
    std::size_t size() const { return owners_.size(); }

private:
    std::unordered_map<std::uint32_t, Owner> owners_;
};

// The downstream bounds: one connection may hold conn_buffer bytes for its local socket, all of
// them together session_buffer. Over either, the read loop pauses.
struct downstream_limits {
    std::size_t conn_buffer;
    std::size_t session_buffer;
    bool full(std::size_t link_pending, std::size_t session_pending) const {
        return link_pending > conn_buffer || session_pending > session_buffer;
    }
};

// How long the read loop may still pause for full local connections. It refills while the loop
// reads, up to stall_timeout, so that pauses back to back cannot starve the runner's pings; when
// a pause spends it, the fullest connections are cut instead of the tunnel.
class stall_credit {
public:
    using clock = std::chrono::steady_clock;

    stall_credit(clock::duration limit, clock::time_point now) : limit_(limit), credit_(limit), last_end_(now) {}

    // A pause starts: returns its deadline.
    clock::time_point begin_pause(clock::time_point now) {
        credit_ = std::min(limit_, credit_ + (now - last_end_));
        started_ = now;
        return now + credit_;
    }
    void end_pause(clock::time_point now) {
        credit_ -= std::min(credit_, now - started_);
        last_end_ = now;
    }
    clock::duration remaining() const { return credit_; }

private:
    clock::duration limit_;
    clock::duration credit_;
    clock::time_point last_end_;
    clock::time_point started_{};
};

}  // namespace tunnel
