#include "fake_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <stdexcept>

namespace tunnel::test {

namespace asio = boost::asio;

fake_connection::fake_connection(asio::any_io_executor ex) : ex_(ex), readable_(ex), writable_(ex) {}

void fake_connection::push(bytes message) {
    incoming_.push_back(item{std::move(message), false});
    readable_.notify();
}

void fake_connection::push_throw() {
    incoming_.push_back(item{{}, true});
    readable_.notify();
}

void fake_connection::hold_writes(bool hold) {
    hold_ = hold;
    if (!hold) writable_.notify();
}

asio::awaitable<boost::system::error_code> fake_connection::read(boost::beast::flat_buffer& buffer,
                                                                  bool& is_binary) {
    while (incoming_.empty() && !*aborted_) {
        co_await readable_.wait();
        // A cancelled read ends, as Beast's does (and the stream is then of no more use).
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
    }
    if (*aborted_) co_return asio::error::connection_aborted;
    auto next = std::move(incoming_.front());
    incoming_.pop_front();
    ++reads_;
    ++frames_received_;
    if (next.throws) throw std::runtime_error("scripted failure in the connection");
    is_binary = true;
    auto out = buffer.prepare(next.message.size());
    asio::buffer_copy(out, asio::buffer(next.message));
    buffer.commit(next.message.size());
    co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> fake_connection::read_message(protocol::frame_bytes& message,
                                                                          bool& is_binary) {
    boost::beast::flat_buffer buffer;
    auto const ec = co_await read(buffer, is_binary);
    if (ec) co_return ec;
    auto const* data = static_cast<std::uint8_t const*>(buffer.data().data());
    message.insert(message.end(), data, data + buffer.size());
    co_return ec;
}

asio::awaitable<boost::system::error_code> fake_connection::write(asio::const_buffer message,
                                                                   transport::ws_message) {
    while (hold_ && !*aborted_) {
        co_await writable_.wait();
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
    }
    if (*aborted_) co_return asio::error::connection_aborted;
    auto const* p = static_cast<std::uint8_t const*>(message.data());
    written_.emplace_back(p, p + message.size());
    write_sizes_.push_back(message.size());
    co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> fake_connection::write_frames(
    std::span<asio::mutable_buffer const> frames) {
    while (hold_ && !*aborted_) {
        co_await writable_.wait();
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
    }
    if (*aborted_) co_return asio::error::connection_aborted;
    std::size_t total = 0;
    for (auto const& f : frames) {
        auto const* p = static_cast<std::uint8_t const*>(f.data());
        written_.emplace_back(p, p + f.size());
        total += f.size();
    }
    write_sizes_.push_back(total);
    co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> fake_connection::close(std::uint16_t) {
    abort();
    co_return boost::system::error_code{};
}

void fake_connection::abort() {
    *aborted_ = true;
    readable_.notify();
    writable_.notify();
}

bytes frame(protocol::msg_type type, std::uint32_t id, std::uint16_t port, protocol::proto p, std::size_t payload) {
    auto const header = protocol::encode(protocol::make_header(type, p, id, port));
    bytes out(header.begin(), header.end());
    out.resize(out.size() + payload, 0x5a);
    return out;
}

protocol::header header_of(bytes const& f) { return protocol::parse(f)->header; }

}  // namespace tunnel::test
