#pragma once
// The rules of one client_id's local connection, as plain data (no sockets, no timers): which
// phase it is in, whether the runner still owns it, and what each event obliges the link to do.
// tcp_link and udp_link feed it events and carry out the effects.
//
//   opening --opened--> open --runner CLOSE / local EOF--> flushing --flushed--> closed
//      |                  \--local error / stall / replaced / session end----------> closed
//      \--open failed (ERROR) / replaced / session end ------------------------------> closed
//
// Silent: once the runner has let go of the id (its CLOSE, a newer CONNECT for the same id, the
// session's end) or the link has said CLOSE/ERROR, nothing more is sent for this stream.

#include <cstdint>

namespace tunnel {

enum class link_phase : std::uint8_t { opening, open, flushing, closed };

// What an event obliges the link to do, in this order.
struct link_effects {
    bool send_connected = false;
    bool send_error = false;      // then the id is released
    bool send_close = false;      // then the id is released
    bool release_id = false;      // let the id go without a word
    bool start_flushing = false;  // write what is queued, then shut down and close
    bool close_socket = false;    // close at once; queued bytes are dropped
};

class link_state {
public:
    link_phase phase() const { return phase_; }
    bool silent() const { return silent_; }
    bool closed() const { return phase_ == link_phase::closed; }
    // DATA from the runner is taken (queued or written) only while opening or open.
    bool accepts_data() const { return phase_ == link_phase::opening || phase_ == link_phase::open; }
    // The runner waits for CONNECTED or ERROR until the local socket is opened or has failed.
    bool reply_owed() const { return reply_owed_; }

    link_effects opened();       // the local socket is connected
    link_effects open_failed();  // it could not be
    link_effects runner_closed();
    link_effects replaced();     // a newer CONNECT took the id, or the session ended
    link_effects local_eof();
    link_effects local_error();
    link_effects failed();  // stalled, idle (UDP), or an internal error: CLOSE and close
    link_effects flushed();  // flushing and nothing left to write

private:
    link_effects close_and_tell();
    link_effects close_silently();

    link_phase phase_ = link_phase::opening;
    bool silent_ = false;
    bool reply_owed_ = true;
};

}  // namespace tunnel
