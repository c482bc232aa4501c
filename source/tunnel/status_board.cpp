#include "tunnel/status_board.hpp"

#include <algorithm>

namespace tunnel {

char const* state_name(tunnel_state s) {
    switch (s) {
        case tunnel_state::connecting: return "connecting";
        case tunnel_state::up: return "up";
        case tunnel_state::backing_off: return "backing off";
        case tunnel_state::stopping: return "stopping";
    }
    return "unknown";
}

namespace {
double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}
}  // namespace

status_board::status_board() : started_(clock::now()), state_since_(started_) {}

void status_board::set_state(tunnel_state s) {
    std::lock_guard lock(mutex_);
    if (state_ == s) return;
    if (state_ == tunnel_state::stopping) return;  // stopping is final
    state_ = s;
    state_since_ = clock::now();
}

void status_board::dialing() {
    std::lock_guard lock(mutex_);
    ++dials_;
}

void status_board::session_up() {
    std::lock_guard lock(mutex_);
    ++sessions_;
}

void status_board::record_error(std::string reason) {
    std::lock_guard lock(mutex_);
    last_error_ = std::move(reason);
    last_error_at_ = clock::now();
}

void status_board::join(link_stats& row) {
    std::lock_guard lock(mutex_);
    if (listed(row)) return;
    row.prev_ = nullptr;
    row.next_ = rows_;
    if (rows_) rows_->prev_ = &row;
    rows_ = &row;
    ++connections_;
}

void status_board::leave(link_stats& row) {
    std::lock_guard lock(mutex_);
    if (!listed(row)) return;
    if (row.prev_) row.prev_->next_ = row.next_;
    else rows_ = row.next_;
    if (row.next_) row.next_->prev_ = row.prev_;
    row.prev_ = row.next_ = nullptr;
    closed_bytes_up_ += row.bytes_up.load(std::memory_order_relaxed);
    closed_bytes_down_ += row.bytes_down.load(std::memory_order_relaxed);
}

client_status status_board::snapshot() const {
    client_status s;
    auto const now = clock::now();
    s.frames_in = frames_in_.load(std::memory_order_relaxed);
    s.frames_out = frames_out_.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    s.state = state_;
    s.state_seconds = seconds_between(state_since_, now);
    s.uptime_seconds = seconds_between(started_, now);
    s.sessions = sessions_;
    s.reconnects = dials_ > 0 ? dials_ - 1 : 0;
    s.last_error = last_error_;
    if (!last_error_.empty()) s.last_error_seconds_ago = seconds_between(last_error_at_, now);
    s.connections = connections_;
    s.bytes_up = closed_bytes_up_;
    s.bytes_down = closed_bytes_down_;
    for (auto const* row = rows_; row; row = row->next_) {
        link_row r;
        r.client_id = row->client_id;
        r.proto = row->udp ? "udp" : "tcp";
        r.port = row->port;
        r.age_seconds = seconds_between(row->since, now);
        r.bytes_up = row->bytes_up.load(std::memory_order_relaxed);
        r.bytes_down = row->bytes_down.load(std::memory_order_relaxed);
        r.queued = row->queued ? row->queued->held() : 0;
        s.bytes_up += r.bytes_up;
        s.bytes_down += r.bytes_down;
        s.links.push_back(std::move(r));
    }
    std::sort(s.links.begin(), s.links.end(),
              [](link_row const& a, link_row const& b) { return a.client_id < b.client_id; });
    return s;
}

}  // namespace tunnel
