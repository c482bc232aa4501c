#pragma once
// A link is one client_id's local connection (TCP or UDP) as the session sees it.
// The session dispatches frames to it; the link's own coroutines pump the local socket.

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/frame.hpp"

namespace tunnel {

class link {
public:
    virtual ~link() = default;

    // Spawns the link's coroutines: open the local socket, then pump both ways.
    virtual void start() = 0;
    // DATA from the runner. Queued while the local socket is opening, written in order.
    virtual void deliver(std::span<std::uint8_t const> payload) = 0;
    // CLOSE from the runner: write what is queued, then close. The link sends nothing more.
    virtual void close_by_runner() = 0;
    // Replaced by a newer CONNECT, or the session ended: close at once, send nothing.
    virtual void abort() = 0;
    // Stalled too long: close at once and tell the runner with CLOSE.
    virtual void fail(std::string_view reason) = 0;

    // Bytes from the runner not yet written to the local socket (0 once closed).
    virtual std::size_t pending_bytes() const = 0;

    std::uint32_t client_id() const { return client_id_; }
    std::uint16_t port() const { return port_; }
    // Unique within the process: tags this link's frames in the writer queue.
    std::uint64_t serial() const { return serial_; }

protected:
    link(std::uint32_t client_id, std::uint16_t port, std::uint64_t serial)
        : client_id_(client_id), port_(port), serial_(serial) {}

    std::uint32_t client_id_;
    std::uint16_t port_;
    std::uint64_t serial_;
};

}  // namespace tunnel
