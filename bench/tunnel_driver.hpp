#pragma once
// The runner's side of one tunnel client, for the bench: one read loop demultiplexes the client's
// frames by client_id into streams; scenarios open streams (CONNECT, then DATA at once, like the
// runner's CLI), send DATA through tunnel_peer's writer (waiting for room: backpressure) and wait
// on a stream's events. Single-threaded: everything runs on the peer's executor.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/frame.hpp"
#include "runner/tunnel_peer.hpp"

namespace bench {

using clock_type = std::chrono::steady_clock;

struct tunnel_stream {
    tunnel_stream(boost::asio::any_io_executor ex, std::uint32_t id, tunnel::protocol::proto proto,
                  std::uint16_t port)
        : id(id), proto(proto), port(port), wake(ex) {}

    std::uint32_t id;
    tunnel::protocol::proto proto;
    std::uint16_t port;

    bool connected = false;  // CONNECTED came
    bool closed = false;     // CLOSE came from the client
    bool failed = false;     // ERROR came, or the tunnel ended
    std::string error;
    bool discard = false;             // count DATA without keeping the bytes
    std::size_t bytes_in = 0;         // DATA payload bytes received
    std::size_t frames_in = 0;        // DATA frames received (UDP: datagrams)
    std::vector<std::uint8_t> inbox;  // received payload not read yet (unless discard)
    boost::asio::steady_timer wake;   // its single waiter; cancelled on every event

    bool over() const { return closed || failed; }
};

class tunnel_driver : public std::enable_shared_from_this<tunnel_driver> {
public:
    tunnel_driver(boost::asio::any_io_executor ex, std::shared_ptr<tunnel::runner::tunnel_peer> peer);

    void start();  // spawns the read loop

    // Sends CONNECT for a new client_id (counting from 1) and returns its stream at once.
    std::shared_ptr<tunnel_stream> open(tunnel::protocol::proto proto, std::uint16_t port);
    // DATA frames of at most 64 KiB (UDP: exactly one frame), each after waiting for room in the
    // writer. false once the stream is over (CLOSE or ERROR from the client) or the tunnel is gone.
    boost::asio::awaitable<bool> send(tunnel_stream& stream, std::span<std::uint8_t const> bytes);
    // CLOSE (unless the client closed it first); the id is forgotten and later frames ignored.
    void close(tunnel_stream& stream);
    // Returns at the stream's next event or at the deadline (at once if the stream is over).
    // Callers check their condition before waiting, and again after. One waiter per stream.
    boost::asio::awaitable<void> wait(tunnel_stream& stream, clock_type::time_point deadline);

    // Drops the tunnel: every stream fails and every waiter wakes.
    void abort();
    // Waits (bounded) for the read loop to end, e.g. after the client was told to stop.
    boost::asio::awaitable<void> finished(std::chrono::milliseconds limit);

    bool ended() const { return ended_; }
    std::size_t open_streams() const { return streams_.size(); }
    std::size_t stray_frames() const { return stray_frames_; }  // for ids already closed: ignored
    std::size_t odd_messages() const { return odd_messages_; }  // text, short or unknown: ignored

private:
    boost::asio::awaitable<void> read_loop(std::shared_ptr<tunnel_driver> self);
    void dispatch(tunnel::protocol::message const& message);
    void end_all(std::string const& reason);

    std::shared_ptr<tunnel::runner::tunnel_peer> peer_;
    std::unordered_map<std::uint32_t, std::shared_ptr<tunnel_stream>> streams_;
    std::uint32_t next_id_ = 1;
    bool ended_ = false;
    std::size_t stray_frames_ = 0;
    std::size_t odd_messages_ = 0;
    boost::asio::steady_timer done_;
};

}  // namespace bench
