// libFuzzer target: the session's frame handling through its sans-io rules (decide, the
// client_id table, each link's state machine, the port policy) driven by any sequence of runner
// frames and local events. Checked on every step: a stream answers CONNECT with CONNECTED or
// ERROR at most once, says nothing after it went silent, never closes twice, and the table and
// the open links stay within what the runner asked for and what the policy allows.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "protocol/frame.hpp"
#include "tunnel/link_state.hpp"
#include "tunnel/port_policy.hpp"
#include "tunnel/session_rules.hpp"

using namespace tunnel;
using protocol::msg_type;

namespace {

#define CHECK(cond) \
    do {            \
        if (!(cond)) __builtin_trap(); \
    } while (0)

struct model_link {
    std::uint32_t id = 0;
    link_state state;
    int replies = 0;           // CONNECTED or ERROR sent
    bool said_last = false;    // ERROR or CLOSE sent: nothing may follow
    bool runner_gone = false;  // the runner let go (its CLOSE, a newer CONNECT, the session's end)
    bool socket_closed = false;
};

struct model_session {
    id_table<std::shared_ptr<model_link>> ids;
    std::vector<std::shared_ptr<model_link>> running;  // until the socket is closed
    port_policy policy;
    bool stopping = false;
    std::size_t connects = 0;

    void apply(std::shared_ptr<model_link> const& link, link_effects e) {
        auto& l = *link;
        bool const sends = e.send_connected || e.send_error || e.send_close;
        if (sends) CHECK(!l.said_last && !l.runner_gone);
        if (e.send_connected || e.send_error) CHECK(++l.replies == 1);
        if (e.send_error || e.send_close) l.said_last = true;
        if (e.send_error || e.send_close || e.release_id) ids.release(l.id, link);  // only if still the owner
        if (e.close_socket) {
            CHECK(!l.socket_closed);
            CHECK(l.state.closed());
            l.socket_closed = true;
        }
        if (l.state.closed()) CHECK(!l.state.accepts_data());
    }
    void runner_let_go(std::shared_ptr<model_link> const& link, bool closed_by_runner) {
        auto effects = closed_by_runner ? link->state.runner_closed() : link->state.replaced();
        link->runner_gone = true;
        // The runner's own CLOSE is answered by nothing: no CONNECTED, ERROR or CLOSE after it.
        CHECK(!effects.send_connected && !effects.send_error && !effects.send_close);
        apply(link, effects);
    }

    void settle() {
        std::erase_if(running, [](auto const& l) { return l->socket_closed; });
        CHECK(ids.size() <= connects);
        if (policy.max_connections != 0) CHECK(running.size() <= policy.max_connections);
    }

    void runner_frame(protocol::header const& h) {
        auto const* owner = ids.find(h.client_id);
        switch (decide(h, owner != nullptr, stopping)) {
            case frame_action::open:
            case frame_action::replace: {
                ++connects;
                std::size_t open = running.size();
                bool const replacing = owner != nullptr;
                if (replacing && open > 0) --open;
                std::shared_ptr<model_link> old = replacing ? *owner : nullptr;
                if (policy.refusal(h.port, open)) {
                    if (old) {
                        ids.release(h.client_id, old);
                        runner_let_go(old, false);
                    }
                    return;
                }
                auto l = std::make_shared<model_link>();
                l->id = h.client_id;
                auto previous = ids.assign(h.client_id, l);
                CHECK(previous == old);
                CHECK(ids.owns(h.client_id, l));
                if (old) {
                    CHECK(!ids.release(h.client_id, old));  // an old owner cannot free the new one's id
                    runner_let_go(old, false);
                    CHECK(ids.owns(h.client_id, l));
                }
                running.push_back(l);
                return;
            }
            case frame_action::deliver:
                CHECK(owner && (*owner)->id == h.client_id);
                return;
            case frame_action::close: {
                auto l = *owner;
                CHECK(ids.release(h.client_id, l));
                runner_let_go(l, true);
                return;
            }
            default:
                return;
        }
    }

    void local_event(std::uint8_t what, std::uint8_t which) {
        if (running.empty()) return;
        auto const link = running[which % running.size()];
        if (link->socket_closed) return;
        auto& st = link->state;
        auto const phase = st.phase();
        // Only what a link can meet in its phase (a socket cannot connect twice).
        switch (what % 6) {
            case 0: if (phase == link_phase::opening) apply(link, st.opened()); break;
            case 1: if (phase == link_phase::opening) apply(link, st.open_failed()); break;
            case 2: if (phase == link_phase::open || phase == link_phase::flushing) apply(link, st.local_eof()); break;
            case 3: if (phase != link_phase::closed) apply(link, st.local_error()); break;
            case 4: if (phase != link_phase::closed) apply(link, st.failed()); break;
            case 5: if (phase == link_phase::flushing) apply(link, st.flushed()); break;
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 2) return 0;
    model_session s;
    // The first two bytes choose a policy: some ports denied, and a connection limit.
    if (data[0] & 1) s.policy.deny.push_back({static_cast<std::uint16_t>(1 + data[0]), 600});
    s.policy.max_connections = data[1] % 8;
    std::size_t at = 2;
    while (at < size) {
        std::uint8_t const op = data[at++];
        if (op < 0xC0) {
            // A runner frame: the next 8 bytes are its header (small ids, so that they collide).
            if (size - at < protocol::header_size) break;
            auto m = protocol::parse({data + at, protocol::header_size});
            at += protocol::header_size;
            CHECK(m.has_value());
            auto h = m->header;
            h.client_id %= 16;
            s.runner_frame(h);
        } else if (op < 0xFE) {
            if (at >= size) break;
            s.local_event(op, data[at++]);
        } else {
            s.stopping = true;  // the session ends: every link is let go
            for (auto const& l : std::vector(s.running))
                if (!l->socket_closed && !l->runner_gone) s.runner_let_go(l, false);
        }
        s.settle();
    }
    return 0;
}
