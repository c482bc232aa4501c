#pragma once
// What the links of one session share: the config, the WebSocket writer, the client_id table and
// the set of live links. Held by shared_ptr so a link that outlives its session stays safe.
// Touched only from the session's strand.

#include <boost/asio/any_io_executor.hpp>
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
        : executor(strand), config(cfg), writer(strand, cfg.write_queue) {}

    boost::asio::any_io_executor executor;  // the session's strand
    client_config const config;             // a copy: a link may outlive the client object
    ws_writer writer;

    // client_id -> the link that currently owns it (the newest CONNECT wins).
    std::unordered_map<std::uint32_t, std::shared_ptr<link>> links;
    // Every link whose local socket may still be open, including ones already released from
    // `links` (flushing after CLOSE), so that the end of the session closes them all.
    std::unordered_set<link*> live;
    bool ended = false;

    // Drops id from the table if `owner` still owns it.
    void release(std::uint32_t id, link const* owner) {
        auto it = links.find(id);
        if (it != links.end() && it->second.get() == owner) links.erase(it);
    }

    // Frames without payload (CONNECTED, CLOSE) and ERROR with its reason.
    void send_control(protocol::msg_type type, protocol::proto p, std::uint32_t id, std::uint16_t port,
                      std::string_view payload = {}) {
        writer.send(protocol::encode(protocol::make_header(type, p, id, port), payload));
    }
};

}  // namespace tunnel
