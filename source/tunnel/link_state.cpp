#include "tunnel/link_state.hpp"

namespace tunnel {

link_effects link_state::opened() {
    link_effects e;
    reply_owed_ = false;
    if (phase_ == link_phase::closed) {
        e.close_socket = true;  // aborted while connecting
        return e;
    }
    e.send_connected = !silent_;
    if (phase_ == link_phase::opening) phase_ = link_phase::open;
    // A runner CLOSE during opening left the link flushing: DATA that came early still goes out.
    e.start_flushing = phase_ == link_phase::flushing;
    return e;
}

link_effects link_state::open_failed() {
    link_effects e;
    reply_owed_ = false;
    if (phase_ == link_phase::closed) return e;
    e.send_error = !silent_;
    silent_ = true;
    phase_ = link_phase::closed;
    e.close_socket = true;
    return e;
}

link_effects link_state::runner_closed() {
    link_effects e;
    if (phase_ == link_phase::closed) return e;
    silent_ = true;
    e.release_id = true;
    if (phase_ == link_phase::flushing) return e;
    e.start_flushing = phase_ == link_phase::open;  // while opening, opened() starts it
    phase_ = link_phase::flushing;
    return e;
}

link_effects link_state::replaced() { return close_silently(); }

link_effects link_state::local_eof() {
    if (phase_ != link_phase::open) return {};  // flushing: the linger wait ends; closed: nothing
    link_effects e;
    e.send_close = !silent_;
    e.release_id = !e.send_close;
    silent_ = true;
    phase_ = link_phase::flushing;
    e.start_flushing = true;
    return e;
}

link_effects link_state::local_error() { return close_and_tell(); }

link_effects link_state::failed() { return close_and_tell(); }

link_effects link_state::flushed() {
    if (phase_ != link_phase::flushing) return {};
    return close_silently();
}

link_effects link_state::close_and_tell() {
    link_effects e;
    if (phase_ == link_phase::closed) return e;
    e.send_close = !silent_ && !reply_owed_;
    // A stream the runner has not heard CONNECTED for gets ERROR instead of CLOSE.
    e.send_error = !silent_ && reply_owed_;
    e.release_id = silent_;
    silent_ = true;
    reply_owed_ = false;
    phase_ = link_phase::closed;
    e.close_socket = true;
    return e;
}

link_effects link_state::close_silently() {
    link_effects e;
    if (phase_ == link_phase::closed) return e;
    e.release_id = true;
    silent_ = true;
    reply_owed_ = false;
    phase_ = link_phase::closed;
    e.close_socket = true;
    return e;
}

}  // namespace tunnel
