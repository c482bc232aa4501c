#include "tunnel_driver.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>

namespace bench {

namespace asio = boost::asio;
namespace protocol = tunnel::protocol;
using protocol::msg_type;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// DATA down as the runner's users send it: 64 KiB per frame (what the client itself sends up may be
// larger; that is its own choice).
constexpr std::size_t down_frame_payload = 64 * 1024;

tunnel::transport::frame_bytes control_frame(msg_type type, tunnel_stream const& s) {
    return protocol::encode(protocol::make_header(type, s.proto, s.id, s.port));
}
}  // namespace

tunnel_driver::tunnel_driver(asio::any_io_executor ex, std::shared_ptr<tunnel::runner::tunnel_peer> peer)
    : peer_(std::move(peer)), done_(ex, clock_type::time_point::max()) {}

void tunnel_driver::start() {
    asio::co_spawn(done_.get_executor(), read_loop(shared_from_this()), asio::detached);
}

std::shared_ptr<tunnel_stream> tunnel_driver::open(protocol::proto proto, std::uint16_t port) {
    auto stream = std::make_shared<tunnel_stream>(done_.get_executor(), next_id_++, proto, port);
    if (ended_) {
        stream->failed = true;
        stream->error = "tunnel ended";
        return stream;
    }
    streams_.emplace(stream->id, stream);
    peer_->send(control_frame(msg_type::connect, *stream));
    return stream;
}

asio::awaitable<bool> tunnel_driver::send(tunnel_stream& stream, std::span<std::uint8_t const> bytes) {
    std::size_t offset = 0;
    do {
        if (stream.over() || ended_) co_return false;  // after the client's CLOSE the id is dead
        std::size_t const n = std::min(bytes.size() - offset, down_frame_payload);
        tunnel::transport::frame_bytes frame(protocol::header_size + n);
        protocol::write_header(frame.data(),
                               protocol::make_header(msg_type::data, stream.proto, stream.id, stream.port));
        std::memcpy(frame.data() + protocol::header_size, bytes.data() + offset, n);
        bool const sent = co_await peer_->send_data(std::move(frame));
        if (!sent) co_return false;
        offset += n;
    } while (offset < bytes.size());
    co_return true;
}

void tunnel_driver::close(tunnel_stream& stream) {
    auto it = streams_.find(stream.id);
    if (it == streams_.end()) return;
    streams_.erase(it);
    if (!stream.over() && !ended_) peer_->send(control_frame(msg_type::close, stream));
}

asio::awaitable<void> tunnel_driver::wait(tunnel_stream& stream, clock_type::time_point deadline) {
    if (stream.over()) co_return;
    stream.wake.expires_at(deadline);
    co_await stream.wake.async_wait(use_tuple);
}

void tunnel_driver::abort() {
    peer_->abort();
    end_all("tunnel aborted by the harness");
}

asio::awaitable<void> tunnel_driver::finished(std::chrono::milliseconds limit) {
    auto const deadline = clock_type::now() + limit;
    asio::steady_timer timer(done_.get_executor());
    while (!ended_ && clock_type::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_tuple);
    }
    if (!ended_) abort();
}

asio::awaitable<void> tunnel_driver::read_loop(std::shared_ptr<tunnel_driver> self) {
    boost::beast::flat_buffer buffer;
    for (;;) {
        bool binary = true;
        bool const more = co_await peer_->receive_into(buffer, binary);
        if (!more) break;
        auto const* data = static_cast<std::uint8_t const*>(buffer.data().data());
        auto message = protocol::parse(std::span<std::uint8_t const>(data, buffer.size()));
        if (!binary || !message) {
            ++odd_messages_;
            continue;
        }
        dispatch(*message);
    }
    end_all("tunnel ended: " + peer_->end_error().message());
}

void tunnel_driver::dispatch(protocol::message const& message) {
    auto const& h = message.header;
    auto it = streams_.find(h.client_id);
    if (it == streams_.end()) {
        if (h.kind() != msg_type::pong) ++stray_frames_;
        return;
    }
    auto const stream = it->second;  // alive even once erased below
    tunnel_stream& s = *stream;
    switch (h.kind()) {
        case msg_type::connected:
            s.connected = true;
            break;
        case msg_type::data:
            s.bytes_in += message.payload.size();
            ++s.frames_in;
            if (!s.discard) s.inbox.insert(s.inbox.end(), message.payload.begin(), message.payload.end());
            break;
        case msg_type::close:
            s.closed = true;
            streams_.erase(it);  // the client is done with this id: later frames are strays
            break;
        case msg_type::error:
            s.failed = true;
            s.error.assign(message.payload.begin(), message.payload.end());
            streams_.erase(it);
            break;
        default:
            ++odd_messages_;
            return;
    }
    s.wake.cancel();
}

void tunnel_driver::end_all(std::string const& reason) {
    ended_ = true;
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, s] : streams) {
        if (!s->over()) {
            s->failed = true;
            s->error = reason;
        }
        s->wake.cancel();
    }
    done_.cancel();
}

}  // namespace bench
