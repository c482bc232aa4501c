#include "tunnel/udp_link.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include "log/logging.hpp"

namespace tunnel {

namespace asio = boost::asio;
using asio::ip::udp;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::deferred);  // no coroutine frame per operation
constexpr std::size_t max_datagram = 65535;
constexpr int max_burst = 32;  // datagrams read in a row before other work runs (a writer batch)

bool would_block(error_code ec) { return ec == asio::error::would_block || ec == asio::error::try_again; }

// Errors a UDP flow lives through: ICMP from an earlier datagram, a full buffer, and the like.
bool is_transient(error_code ec) {
    return ec == asio::error::connection_refused || would_block(ec) || ec == asio::error::host_unreachable ||
           ec == asio::error::network_unreachable || ec == asio::error::no_buffer_space;
}
}  // namespace

udp_link::udp_link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port)
    : link(std::move(ctx), client_id, port, protocol::proto::udp),
      socket_(executor_),
      last_activity_(std::chrono::steady_clock::now()) {}

error_code udp_link::open_socket(asio::ip::address const& address) {
    // A new socket takes over only once it is connected: where the other loopback is missing (no
    // ::1 in a container without IPv6: "cannot assign requested address"), the flow keeps the one
    // it has, and works once the service comes up there.
    error_code ec;
    udp::socket fresh(executor_);
    fresh.open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) fresh.connect(udp::endpoint(address, port_), ec);
    if (!ec) fresh.non_blocking(true, ec);
    if (!ec) socket_ = std::move(fresh);  // the old one closes: its waits end as aborted
    return ec;
}

bool udp_link::open() {
    if (auto ec = open_socket(asio::ip::address_v4::loopback())) {
        std::string const reason = "udp socket to port " + std::to_string(port_) + " failed: " + ec.message();
        log_info("connect failed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
        apply(state_.open_failed(), reason);
        return false;
    }
    auto const effects = state_.opened();
    opened_ = !state_.closed();
    apply(effects);
    if (!opened_ || state_.closed()) return false;
    log_opened();
    downstream_wake_.notify();  // datagrams that came meanwhile may go now
    return true;
}

// (Each pump is one coroutine frame for the flow's life.)
asio::awaitable<void> udp_link::pump_up() {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    bool const opened = !state_.closed() && open();  // (closed: replaced before it began)
    int burst = 0;
    while (opened && !state_.closed()) {
        if (!state_.silent() && ctx_->upstream.full()) {
            bool const room = co_await wait_for_upstream_room();  // (not inside a condition: GCC 12)
            if (!room) break;
        }
        // Reads until the socket is empty, and only then waits: datagrams that queued up while
        // the flow was busy cost one call each, and leave in one writer batch. After a burst, the
        // thread's other work (the WebSocket's writer, other flows) runs first. The wait costs an
        // epoll_ctl (Asio's async_wait is never speculative); a zero-length peek would cost a
        // second EAGAIN read instead, and reading with an async receive would need a buffer per
        // flow held while it waits.
        if (burst == max_burst) {
            burst = 0;
            co_await asio::post(executor_, asio::deferred);
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (state_.closed() || cancelled(cs)) break;
        }
        error_code ec;
        auto frame = receive_frame(ec);
        if (would_block(ec)) {
            burst = 0;
            auto [wec] = co_await socket_.async_wait(udp::socket::wait_read, use_tuple);
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(cs)) break;
            if (wec == asio::error::operation_aborted) continue;  // moved to the other loopback, or closed
            if (!wec) continue;
            ec = wec;
        }
        if (!socket_.is_open() || ec == asio::error::bad_descriptor) {
            // No socket: the flow closed it, or (never expected) something else did: end the flow
            // rather than spin on bad_descriptor.
            if (state_.closed()) break;
            log_info("udp socket lost", {{"client_id", client_id_}, {"port", port_}, {"reason", ec.message()}});
            apply(state_.failed());
            break;
        }
        if (ec == asio::error::connection_refused) on_refused();
        if (ec) {
            if (!is_transient(ec)) log_debug("udp receive failed", {{"client_id", client_id_}, {"reason", ec.message()}});
            continue;
        }
        ++burst;
        touch();
        if (!heard_back_) {
            heard_back_ = true;
            last_sent_ = {};
        }
        if (state_.silent()) continue;
        ++datagrams_up_;
        bump(stats_.bytes_up, frame.size() - protocol::header_size);
        send_data(std::move(frame));
    }
    pump_ended(co_await asio::this_coro::cancellation_state);
}

asio::awaitable<void> udp_link::pump_down() {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto const idle_timeout = ctx_->config.udp_idle_timeout;
    while (!state_.closed()) {
        if (!opened_) {  // opening: what comes waits
            co_await downstream_wake_.wait_until(std::chrono::steady_clock::time_point::max());
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(cs)) break;
            continue;
        }
        if (pending_.empty()) {
            // After the runner's CLOSE, the queued datagrams are out: the flow is over.
            if (state_.phase() == link_phase::flushing) {
                apply(state_.flushed());
                break;
            }
            auto const idle_at = last_activity_ + idle_timeout;  // (datagrams either way move it)
            if (std::chrono::steady_clock::now() >= idle_at) {
                log_info("udp flow idle", {{"client_id", client_id_}, {"port", port_}});
                apply(state_.failed());
                break;
            }
            auto const before = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(before)) break;
            co_await downstream_wake_.wait_until(idle_at);
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(cs)) break;
            continue;
        }
        // Sent without waiting while the socket takes them; only a full socket buffer waits.
        auto const datagram = pending_.front().data();
        remember_for_resend(datagram);
        error_code ec;
        socket_.send(asio::buffer(datagram.data(), datagram.size()), 0, ec);
        if (would_block(ec)) {
            // (Whatever the wait ends with, closed or moved to the other loopback, the loop looks again.)
            co_await socket_.async_wait(udp::socket::wait_write, use_tuple);
            auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
            if (cancelled(cs)) break;
            continue;
        }
        auto const size = datagram.size();
        if (!ec) {
            ++datagrams_down_;
            bump(stats_.bytes_down, size);
        }
        if (ec == asio::error::connection_refused) on_refused();
        pending_.pop_front();  // sent, or lost as UDP may
        downstream_.release(size);
    }
    pump_ended(co_await asio::this_coro::cancellation_state);
}

void udp_link::deliver(chunk_queue::chunk datagram) {
    if (!state_.accepts_data()) {
        downstream_.release(datagram.size());
        return;
    }
    touch();
    if (downstream_.held() > ctx_->config.conn_buffer) {
        ++dropped_;  // UDP must not hold the tunnel: drop like a full socket buffer would
        downstream_.release(datagram.size());
        return;
    }
    link::deliver(std::move(datagram));
}

void udp_link::remember_for_resend(std::span<std::uint8_t const> datagram) {
    if (heard_back_) return;
    last_sent_.assign(datagram.begin(), datagram.end());
    resent_ = false;
}

void udp_link::on_refused() {
    // Port unreachable and never a reply yet: the service may listen on the other loopback
    // (::1 only, or back on 127.0.0.1 once it is up). Try there, resending each datagram once.
    error_code ec;
    auto const local = socket_.local_endpoint(ec);
    if (heard_back_ || state_.closed() || ec) return;
    auto const other = local.address().is_v4() ? asio::ip::address(asio::ip::address_v6::loopback())
                                               : asio::ip::address(asio::ip::address_v4::loopback());
    if (open_socket(other)) return;
    log_debug("udp flow moved", {{"client_id", client_id_}, {"to", other.to_string()}});
    if (!resent_ && !last_sent_.empty()) {
        resent_ = true;
        socket_.send(asio::buffer(last_sent_), 0, ec);
    }
}

transport::frame_bytes udp_link::receive_frame(error_code& ec) {
    // Read into this thread's buffer, then copied out at its size: nothing to ask the size first
    // (FIONREAD), and no buffer held by a flow while it waits. (Not in the coroutine: one that
    // resumes on another thread must not keep using the first thread's buffer.)
    thread_local std::array<std::uint8_t, max_datagram> scratch;
    std::size_t const n = socket_.receive(asio::buffer(scratch), 0, ec);
    if (ec) return {};
    transport::frame_bytes frame(protocol::header_size + n);
    protocol::write_header(frame.data(), protocol::make_header(protocol::msg_type::data, proto_, client_id_, port_));
    std::copy_n(scratch.begin(), n, frame.begin() + protocol::header_size);
    return frame;
}



void udp_link::close_socket() {
    error_code ignored;
    socket_.close(ignored);
    if (opened_)
        log_info("connection closed", {{"client_id", client_id_},
                                   {"port", port_},
                                   {"proto", "udp"},
                                   {"datagrams_up", datagrams_up_},
                                   {"datagrams_down", datagrams_down_},
                                   {"dropped", dropped_}});
}

}  // namespace tunnel
