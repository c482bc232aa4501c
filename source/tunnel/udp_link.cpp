#include "tunnel/udp_link.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/logging.hpp"
#include "tunnel/spawn.hpp"

namespace tunnel {

namespace asio = boost::asio;
using asio::ip::udp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using protocol::msg_type;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_datagram = 65535;

// Errors a UDP flow lives through: ICMP from an earlier datagram, a full buffer, and the like.
bool is_transient(error_code ec) {
    return ec == asio::error::connection_refused || ec == asio::error::would_block ||
           ec == asio::error::try_again || ec == asio::error::host_unreachable ||
           ec == asio::error::network_unreachable || ec == asio::error::no_buffer_space;
}
}  // namespace

udp_link::udp_link(std::shared_ptr<session_state> state, std::uint32_t client_id, std::uint16_t port)
    : link(client_id, port, state->next_serial()),
      state_(std::move(state)),
      socket_(state_->executor),
      wake_down_(state_->executor),
      idle_timer_(state_->executor) {}

udp_link::~udp_link() { state_->live.erase(this); }

void udp_link::start() {
    state_->live.insert(this);
    touch();
    spawn_logged(state_->executor, run(shared_from_this()), "udp link");
}

error_code udp_link::open_socket(asio::ip::address const& address) {
    error_code ec;
    if (socket_.is_open()) socket_.close(ec);
    socket_.open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) socket_.connect(udp::endpoint(address, port_), ec);
    if (!ec) socket_.non_blocking(true, ec);
    return ec;
}

asio::awaitable<void> udp_link::run(std::shared_ptr<udp_link> self) {
    if (closed_) co_return;  // aborted before it started
    if (auto ec = open_socket(asio::ip::address_v4::loopback())) {
        std::string const reason = "udp socket to port " + std::to_string(port_) + " failed: " + ec.message();
        log_info("connect failed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
        if (!silent_) state_->send_control(*this, msg_type::error, protocol::proto::udp, reason);
        silent_ = true;
        close_now();
        co_return;
    }
    open_ = true;
    if (!silent_) state_->send_control(*this, msg_type::connected, protocol::proto::udp);
    log_info("connection opened", {{"client_id", client_id_}, {"port", port_}, {"proto", "udp"}});
    wake_down_.cancel();
    co_await (pump_up() && pump_down() && expire_when_idle());
    close_now();
    log_info("connection closed", {{"client_id", client_id_},
                                   {"port", port_},
                                   {"proto", "udp"},
                                   {"datagrams_up", datagrams_up_},
                                   {"datagrams_down", datagrams_down_},
                                   {"dropped", dropped_}});
}

void udp_link::deliver(std::span<std::uint8_t const> payload) {
    if (closed_ || closing_) return;
    touch();
    if (!heard_back_) {
        last_sent_.assign(payload.begin(), payload.end());
        resent_ = false;
    }
    if (open_ && pending_.empty()) {
        error_code ec;
        socket_.send(asio::buffer(payload.data(), payload.size()), 0, ec);
        if (!ec) ++datagrams_down_;
        if (ec == asio::error::connection_refused) on_refused();
        if (ec != asio::error::would_block && ec != asio::error::try_again)
            return;  // sent, or lost as UDP may
    }
    if (pending_bytes_ + payload.size() > state_->config.conn_buffer) {
        ++dropped_;  // UDP must not hold the tunnel: drop like a full socket buffer would
        return;
    }
    pending_.push_back(frame_bytes(payload.begin(), payload.end()));
    pending_bytes_ += payload.size();
    state_->downstream_added(payload.size());
    wake_down_.cancel();
}

void udp_link::on_refused() {
    // Port unreachable and never a reply yet: the service may listen on the other loopback
    // (::1 only, or back on 127.0.0.1 once it is up). Try there, resending each datagram once.
    error_code ec;
    auto const local = socket_.local_endpoint(ec);
    if (heard_back_ || closed_ || ec) return;
    auto const other = local.address().is_v4() ? asio::ip::address(asio::ip::address_v6::loopback())
                                               : asio::ip::address(asio::ip::address_v4::loopback());
    if (open_socket(other)) return;
    log_debug("udp flow moved", {{"client_id", client_id_}, {"to", other.to_string()}});
    if (!resent_ && !last_sent_.empty()) {
        resent_ = true;
        socket_.send(asio::buffer(last_sent_), 0, ec);
    }
}

void udp_link::close_by_runner() {
    state_->release(client_id_, this);
    silent_ = true;
    state_->writer.drop(serial_);
    if (pending_.empty() || !open_) {
        close_now();
    } else {
        closing_ = true;  // pump_down sends the queued datagrams, then closes
        wake_down_.cancel();
    }
}

void udp_link::abort() {
    silent_ = true;
    state_->writer.drop(serial_);
    close_now();
}

void udp_link::fail(std::string_view reason) {
    log_warn("connection closed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
    if (!silent_) state_->send_control(*this, msg_type::close, protocol::proto::udp);
    silent_ = true;
    close_now();
}

asio::awaitable<void> udp_link::pump_up() {
    while (!closed_) {
        auto [wec] = co_await socket_.async_wait(udp::socket::wait_read, use_tuple);
        if (closed_) co_return;
        if (wec) continue;  // the socket moved to ::1 under this wait
        if (!silent_ && !state_->writer.has_room()) {
            bool const room = co_await state_->writer.wait_for_room();  // (not inside a condition: GCC 12)
            if (!room || closed_) co_return;
        }
        error_code ec;
        // On Linux, FIONREAD on a UDP socket is the size of the next datagram.
        std::size_t const available = socket_.available(ec);
        std::size_t const want = std::clamp<std::size_t>(available, 1, max_datagram);
        frame_bytes frame(protocol::header_size + want);
        std::size_t const n =
            socket_.receive(asio::buffer(frame.data() + protocol::header_size, want), 0, ec);
        if (ec == asio::error::connection_refused) on_refused();
        if (ec) {
            if (!is_transient(ec))
                log_debug("udp receive failed", {{"client_id", client_id_}, {"reason", ec.message()}});
            continue;
        }
        touch();
        if (!heard_back_) {
            heard_back_ = true;
            last_sent_ = {};
        }
        if (silent_) continue;
        frame.resize(protocol::header_size + n);
        protocol::write_header(
            frame.data(), protocol::make_header(msg_type::data, protocol::proto::udp, client_id_, port_));
        ++datagrams_up_;
        state_->writer.send(std::move(frame), serial_);
    }
}

asio::awaitable<void> udp_link::pump_down() {
    while (!closed_) {
        if (pending_.empty() || !open_) {
            if (closing_) {
                close_now();
                co_return;
            }
            wake_down_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_down_.async_wait(use_tuple);
            continue;
        }
        writing_ = true;
        auto [ec, n] = co_await socket_.async_send(asio::buffer(pending_.front()), use_tuple);
        writing_ = false;
        if (closed_) {
            pending_.clear();
            co_return;
        }
        if (!ec) ++datagrams_down_;
        auto const size = pending_.front().size();
        pending_bytes_ -= size;
        pending_.pop_front();
        state_->downstream_removed(size);
    }
}

asio::awaitable<void> udp_link::expire_when_idle() {
    auto const timeout = state_->config.udp_idle_timeout;
    while (!closed_) {
        idle_timer_.expires_at(last_activity_ + timeout);
        co_await idle_timer_.async_wait(use_tuple);
        if (closed_) co_return;
        if (std::chrono::steady_clock::now() < last_activity_ + timeout) continue;  // traffic meanwhile
        log_info("udp flow idle", {{"client_id", client_id_}, {"port", port_}});
        if (!silent_) state_->send_control(*this, msg_type::close, protocol::proto::udp);
        silent_ = true;
        close_now();
        co_return;
    }
}

void udp_link::close_now() {
    if (closed_) return;
    closed_ = true;
    silent_ = true;
    state_->release(client_id_, this);
    state_->live.erase(this);
    error_code ignored;
    socket_.close(ignored);
    pending_.clear(writing_);
    state_->downstream_removed(pending_bytes_);
    pending_bytes_ = 0;
    wake_down_.cancel();
    idle_timer_.cancel();
    state_->writer.wake_producers();
}

}  // namespace tunnel
