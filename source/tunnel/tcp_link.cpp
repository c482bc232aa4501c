#include "tunnel/tcp_link.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <span>
#include <utility>

#include "log/logging.hpp"

namespace tunnel {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
// Operations are awaited as deferred ones: no coroutine frame per operation (as use_awaitable
// makes), which is less work per wake-up and less memory held by every idle connection.
constexpr auto use_tuple = asio::as_tuple(asio::deferred);
// After CLOSE, how long the local service gets to finish its side before the socket is closed.
constexpr std::chrono::seconds close_linger{2};
// Reads up to this size are copied out of the frame-sized read buffer (a copy this small costs
// less than holding the rest of the buffer while the frame waits in the queue).
constexpr std::size_t small_read = 16 * 1024;
// The most queued chunks one write to the local socket gathers.
constexpr std::size_t max_gather = 16;

bool would_block(error_code ec) { return ec == asio::error::would_block || ec == asio::error::try_again; }
}  // namespace

tcp_link::tcp_link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port)
    : link(std::move(ctx), client_id, port, protocol::proto::tcp), socket_(executor_) {}

// The pair ends when the link is closed: each then sees the closed socket, or its queue's end.
// (Each pump is one coroutine frame for the connection's life, which every idle connection keeps:
// the work between two waits is done by plain functions, whose locals live on the stack.)
asio::awaitable<void> tcp_link::pump_up() {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    bool opened = false;
    if (!state_.closed()) opened = co_await open_and_answer();  // (closed: replaced before it began)
    bool readable = false;  // the last read filled its buffer: more may be waiting
    while (opened && !state_.closed()) {
        if (readable) {
            // Read again without a trip through the reactor (a wait costs an epoll_ctl and an
            // epoll_wait), after the other work of this thread (the WebSocket's writer) has run.
            co_await asio::post(executor_, asio::deferred);
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (state_.closed() || cancelled(cs)) break;
        } else {
            // (A wait, not a read: an idle connection holds no buffer while it waits.)
            auto [wec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
            if (wec || state_.closed()) break;  // closed, or the session is ending
        }
        if (!state_.silent() && ctx_->upstream.full()) {
            // (GCC 12 miscompiles co_await inside a condition: bind the result first.)
            bool const room = co_await wait_for_upstream_room();
            if (!room) break;  // the link is over
        }
        auto const got = read_local();
        if (got == read_result::over) break;
        readable = got == read_result::full;
    }
    pump_ended(co_await asio::this_coro::cancellation_state);
}

tcp_link::read_result tcp_link::read_local() {
    // As much as the socket holds, up to a whole frame, straight behind the header room.
    transport::frame_bytes frame(protocol::header_size + protocol::max_data_payload);
    error_code ec;
    auto const payload = asio::buffer(frame.data() + protocol::header_size, protocol::max_data_payload);
    std::size_t const n = socket_.read_some(payload, ec);
    if (would_block(ec)) return read_result::drained;
    if (ec == asio::error::eof) {
        // The service closed: what it sent has gone up already; tell the runner, then flush.
        local_eof_ = true;
        apply(state_.local_eof());
        if (linger_) linger_->cancel();  // a linger wait for this EOF ends now
        return read_result::over;
    }
    if (ec) {
        on_local_error(ec);
        return read_result::over;
    }
    auto const filled = n == protocol::max_data_payload ? read_result::full : read_result::drained;
    if (state_.silent()) return filled;  // the runner has let go of this stream: discard
    if (n <= small_read) {
        // A small read gets a buffer of its own size: queued frames hold little more than they
        // carry (the upstream budget counts what they hold).
        auto const end = frame.begin() + static_cast<std::ptrdiff_t>(protocol::header_size + n);
        frame = transport::frame_bytes(frame.begin(), end);
    } else {
        frame.resize(protocol::header_size + n);
    }
    protocol::write_header(frame.data(), protocol::make_header(protocol::msg_type::data, proto_, client_id_, port_));
    bump(stats_.bytes_up, n);
    send_data(std::move(frame));
    return filled;
}

asio::awaitable<void> tcp_link::pump_down() {
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        if (state_.closed()) break;
        if (pending_.empty() || !opened_) {  // (a CLOSE while connecting leaves it flushing, unopened)
            if (opened_ && state_.phase() == link_phase::flushing) {
                co_await finish_flush();
                break;
            }
            auto const before = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(before)) break;
            co_await downstream_wake_.wait();  // bytes came, or the state moved on (opened)
            auto const cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs)) break;
            continue;
        }
        auto ec = write_local();
        if (would_block(ec)) {
            ec = co_await wait_writable();
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (state_.closed() || cancelled(cs)) break;
            if (!ec) continue;
        }
        if (ec) {
            on_local_error(ec);
            break;
        }
    }
    pump_ended(co_await asio::this_coro::cancellation_state);
}

error_code tcp_link::write_local() {
    // A service that keeps up takes the bytes at once: no wait, no timer, no wake-up. Only when its
    // socket is full does the pump wait, for room and not with bytes in flight, so that closing the
    // link may drop the queue at any time.
    std::array<asio::const_buffer, max_gather> buffers;
    error_code ec;
    auto const count = pending_.gather(buffers);
    std::size_t const n = socket_.write_some(std::span<asio::const_buffer const>(buffers.data(), count), ec);
    if (ec) return ec;
    bump(stats_.bytes_down, n);
    pending_.consume(n);
    downstream_.release(n);
    return {};
}

asio::awaitable<bool> tcp_link::open_and_answer() {
    auto const failure = co_await open_local();
    auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
    if (cancelled(cs)) co_return false;  // the session is ending: life() closes it
    if (!failure.empty()) {
        if (!state_.silent() && !state_.closed())
            log_info("connect failed", {{"client_id", client_id_}, {"port", port_}, {"reason", failure}});
        apply(state_.open_failed(), failure);
        co_return false;
    }
    auto const effects = state_.opened();
    opened_ = !state_.closed();
    apply(effects);
    if (state_.closed()) co_return false;
    if (effects.send_connected) log_opened();
    downstream_wake_.notify();  // DATA that came while connecting may go now
    co_return true;
}

// A race without coroutine frames per branch (unlike operator||): the frames the long-lived
// coroutines get next are then not the large recycled blocks of such a race.
asio::awaitable<error_code> tcp_link::connect_within(tcp::endpoint const& endpoint, asio::steady_timer& deadline) {
    auto [order, connect_ec, timer_ec] =
        co_await asio::experimental::make_parallel_group(socket_.async_connect(endpoint, asio::deferred),
                                                         deadline.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::deferred);
    co_return order[0] == 0 ? connect_ec : error_code(asio::error::timed_out);
}

asio::awaitable<std::string> tcp_link::open_local() {
    // Only the container's own loopback: 127.0.0.1, then ::1 for services listening on IPv6 only.
    std::array<asio::ip::address, 2> const loopbacks{asio::ip::address(asio::ip::address_v4::loopback()),
                                                     asio::ip::address(asio::ip::address_v6::loopback())};
    std::string reasons;
    for (auto const& address : loopbacks) {
        tcp::endpoint const endpoint(address, port_);
        asio::steady_timer deadline(executor_, ctx_->config.local_connect_timeout);
        // Opened here so that its options come first: a socket already non-blocking is not set so
        // again by the connect (one ioctl per connection fewer). Every write tries it first.
        error_code ec;
        socket_.open(endpoint.protocol(), ec);
        if (!ec) {
            error_code ignored;
            socket_.set_option(tcp::no_delay(true), ignored);
            socket_.non_blocking(true, ignored);
            ec = co_await connect_within(endpoint, deadline);
        }
        auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
        if (state_.closed() || cancelled(cs)) co_return std::string{};  // replaced, or ending
        if (!ec) co_return std::string{};
        if (!reasons.empty()) reasons += "; ";
        reasons += address.is_v6() ? "[::1]:" : "127.0.0.1:";
        reasons += std::to_string(port_) + " " + ec.message();
        error_code ignored;
        socket_.close(ignored);
    }
    co_return "connect to port " + std::to_string(port_) + " failed: " + reasons;
}

asio::awaitable<error_code> tcp_link::wait_writable() {
    if (state_.phase() != link_phase::flushing) {
        auto [ec] = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
        co_return ec;
    }
    // Nobody waits for this stream any more: a service that stops reading gets stall_timeout,
    // then the connection is cut.
    asio::steady_timer deadline(executor_, ctx_->config.stall_timeout);
    auto [order, wait_ec, timer_ec] =
        co_await asio::experimental::make_parallel_group(socket_.async_wait(tcp::socket::wait_write, asio::deferred),
                                                         deadline.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::deferred);
    co_return order[0] == 0 ? wait_ec : error_code(asio::error::timed_out);
}

asio::awaitable<void> tcp_link::finish_flush() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    if (!local_eof_) {
        linger_ = std::make_unique<asio::steady_timer>(executor_, close_linger);
        co_await linger_->async_wait(use_tuple);  // the service's EOF (pump_up) ends it early
        auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
        if (cancelled(cs)) co_return;
    }
    apply(state_.flushed());
}

void tcp_link::on_local_error(error_code ec) {
    if (state_.closed()) return;
    log_debug("local socket error", {{"client_id", client_id_}, {"reason", ec.message()}});
    apply(state_.local_error());
}

void tcp_link::close_socket() {
    error_code ignored;
    socket_.close(ignored);
    if (linger_) linger_->cancel();
    if (opened_)
        log_info("connection closed", {{"client_id", client_id_},
                                       {"port", port_},
                                       {"bytes_up", stats_.bytes_up.load(std::memory_order_relaxed)},
                                       {"bytes_down", stats_.bytes_down.load(std::memory_order_relaxed)}});
}

}  // namespace tunnel
