#pragma once
// What `tunnel-client status` shows, kept where it happens and readable from any thread: the
// client's state and its last error, totals, and one row per open connection. Writers pay little:
// counters are single-writer relaxed atomics, and a link joins or leaves the board (one mutex,
// no allocation: the rows are an intrusive list) only when it opens or ends.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tunnel/byte_account.hpp"

namespace tunnel {

enum class tunnel_state { connecting, up, backing_off, stopping };
char const* state_name(tunnel_state s);

// Adds to a counter that only one strand writes: no locked instruction on the data path.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// One open connection's row. A link holds it and writes the counters on its own strand; the board
// reads them under its mutex while the row is listed.
struct link_stats {
    std::uint32_t client_id = 0;
    std::uint16_t port = 0;
    bool udp = false;
    std::chrono::steady_clock::time_point since{};
    std::atomic<std::uint64_t> bytes_up{0};    // to the runner (TCP bytes, or UDP payload bytes)
    std::atomic<std::uint64_t> bytes_down{0};  // from the runner, written to the local socket
    byte_lease const* queued = nullptr;  // bytes from the runner not yet written

private:
    friend class status_board;
    link_stats* prev_ = nullptr;  // listed: prev_ set, or the board's first row
    link_stats* next_ = nullptr;
};

struct link_row {
    std::uint32_t client_id = 0;
    std::string proto;
    std::uint16_t port = 0;
    double age_seconds = 0;
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
    std::uint64_t queued = 0;
};

struct client_status {
    tunnel_state state = tunnel_state::connecting;
    double state_seconds = 0;  // time in that state
    double uptime_seconds = 0;  // since the client started
    std::uint64_t sessions = 0;    // WebSocket sessions that came up
    std::uint64_t reconnects = 0;  // dials after the first
    std::string last_error;        // why the last session ended or the last dial failed
    double last_error_seconds_ago = -1;  // -1: none yet
    std::uint64_t connections = 0;  // CONNECTs opened since start (TCP and UDP)
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
    std::uint64_t frames_in = 0;   // frames from the runner
    std::uint64_t frames_out = 0;  // frames queued to the runner
    std::vector<link_row> links;   // open connections, by client_id
};

class status_board {
public:
    status_board();
    status_board(status_board const&) = delete;
    status_board& operator=(status_board const&) = delete;

    // ---- the client's reconnect loop ----
    void set_state(tunnel_state s);
    void dialing();  // a dial starts (the first one, or a reconnect)
    void session_up();
    void record_error(std::string reason);

    // ---- the session's strand (single writers) ----
    void frame_in() { bump(frames_in_); }
    void frame_out() { bump(frames_out_); }

    // ---- links: join when opened, leave when they end (their bytes join the totals) ----
    void join(link_stats& row);
    void leave(link_stats& row);

    client_status snapshot() const;

private:
    using clock = std::chrono::steady_clock;
    bool listed(link_stats const& row) const { return row.prev_ || rows_ == &row; }  // under mutex_
    clock::time_point const started_;
    std::atomic<std::uint64_t> frames_in_{0};
    std::atomic<std::uint64_t> frames_out_{0};

    mutable std::mutex mutex_;  // everything below
    tunnel_state state_ = tunnel_state::connecting;
    clock::time_point state_since_;
    std::uint64_t dials_ = 0;
    std::uint64_t sessions_ = 0;
    std::string last_error_;
    clock::time_point last_error_at_{};
    std::uint64_t connections_ = 0;
    std::uint64_t closed_bytes_up_ = 0;  // of links that have left
    std::uint64_t closed_bytes_down_ = 0;
    link_stats* rows_ = nullptr;
};

}  // namespace tunnel
