#pragma once
// What the links of one session share: the config, the WebSocket writer, the client_id table,
// the set of live links and the count of bytes waiting for local sockets. Held by shared_ptr so a
// link that outlives its session stays safe. Touched only from the session's strand.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "protocol/frame.hpp"
#include "tunnel/config.hpp"
#include "tunnel/link.hpp"
#include "tunnel/ws_writer.hpp"

namespace tunnel {

struct session_state {
    session_state(boost::asio::any_io_executor strand, client_config const& cfg)
        : executor(strand),
          config(cfg),
          writer(strand, cfg.write_queue),
          downstream_drained(strand, boost::asio::steady_timer::time_point::max()) {}

    boost::asio::any_io_executor executor;  // the session's strand
    client_config const config;             // a copy: a link may outlive the client object
    ws_writer writer;

    // client_id -> the link that currently owns it (the newest CONNECT wins).
    std::unordered_map<std::uint32_t, std::shared_ptr<link>> links;
    // Every link whose local socket may still be open, including ones already released from
    // `links` (flushing after CLOSE), so that the end of the session closes them all.
    std::unordered_set<link*> live;

    // Bytes from the runner queued for all local sockets; the read loop waits on
    // downstream_drained (cancelled whenever bytes leave a queue) while a bound is exceeded.
    std::size_t downstream_bytes = 0;
    boost::asio::steady_timer downstream_drained;

    std::uint64_t next_serial() { return ++last_serial_; }

    void downstream_added(std::size_t n) { downstream_bytes += n; }
    void downstream_removed(std::size_t n) {
        downstream_bytes -= n;
        downstream_drained.cancel();
    }

    // Drops id from the table if `owner` still owns it.
    void release(std::uint32_t id, link const* owner) {
        auto it = links.find(id);
        if (it != links.end() && it->second.get() == owner) links.erase(it);
    }

    // Frames without payload (CONNECTED, CLOSE) and ERROR with its reason.
    void send_control(link const& from, protocol::msg_type type, protocol::proto p,
                      std::string_view payload = {}) {
        writer.send(protocol::encode(protocol::make_header(type, p, from.client_id(), from.port()), payload),
                    from.serial());
    }

private:
    static inline std::atomic<std::uint64_t> last_serial_{0};
};

}  // namespace tunnel
