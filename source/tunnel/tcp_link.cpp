#include "tunnel/tcp_link.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "app/logging.hpp"
#include "tunnel/spawn.hpp"

namespace tunnel {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using protocol::msg_type;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// After CLOSE, how long the local service gets to finish its side before the socket is closed.
constexpr std::chrono::seconds close_linger{2};
}  // namespace

tcp_link::tcp_link(std::shared_ptr<session_state> state, std::uint32_t client_id, std::uint16_t port)
    : link(client_id, port),
      state_(std::move(state)),
      socket_(state_->executor),
      wake_down_(state_->executor),
      wake_drained_(state_->executor) {}

tcp_link::~tcp_link() { state_->live.erase(this); }

void tcp_link::start() {
    state_->live.insert(this);
    spawn_logged(state_->executor, run(shared_from_this()), "tcp link");
}

asio::awaitable<void> tcp_link::run(std::shared_ptr<tcp_link> self) {
    auto const failure = co_await open_local();
    if (phase_ == phase::closed) co_return;  // aborted while connecting
    if (!failure.empty()) {
        if (!silent_) {
            log_info("connect failed", {{"client_id", client_id_}, {"port", port_}, {"reason", failure}});
            state_->send_control(msg_type::error, protocol::proto::tcp, client_id_, port_, failure);
        }
        silent_ = true;
        close_now();
        co_return;
    }
    if (!silent_) {
        state_->send_control(msg_type::connected, protocol::proto::tcp, client_id_, port_);
        log_info("connection opened", {{"client_id", client_id_}, {"port", port_}, {"proto", "tcp"}});
    }
    if (phase_ == phase::opening) phase_ = phase::open;
    socket_.non_blocking(true);
    co_await (pump_up() && pump_down());
    close_now();
    log_info(
        "connection closed",
        {{"client_id", client_id_}, {"port", port_}, {"bytes_up", bytes_up_}, {"bytes_down", bytes_down_}});
}

asio::awaitable<std::string> tcp_link::open_local() {
    // Only the container's own loopback: 127.0.0.1, then ::1 for services listening on IPv6 only.
    std::string reasons;
    for (auto const& address : {asio::ip::address(asio::ip::address_v4::loopback()),
                                asio::ip::address(asio::ip::address_v6::loopback())}) {
        tcp::endpoint const endpoint(address, port_);
        asio::steady_timer deadline(state_->executor, state_->config.local_connect_timeout);
        auto raced = co_await (socket_.async_connect(endpoint, use_tuple) || deadline.async_wait(use_tuple));
        if (phase_ == phase::closed) co_return "aborted";
        error_code ec = raced.index() == 0 ? std::get<0>(std::get<0>(raced)) : asio::error::timed_out;
        if (!ec) {
            error_code ignored;
            socket_.set_option(tcp::no_delay(true), ignored);
            co_return std::string{};
        }
        if (!reasons.empty()) reasons += "; ";
        reasons += endpoint.address().is_v6() ? "[::1]:" : "127.0.0.1:";
        reasons += std::to_string(port_) + " " + ec.message();
        error_code ignored;
        socket_.close(ignored);
    }
    co_return "connect to port " + std::to_string(port_) + " failed: " + reasons;
}

void tcp_link::deliver(std::span<std::uint8_t const> payload) {
    // Late DATA after a CLOSE (either side's) is ignored: this stream is over.
    if (phase_ != phase::opening && phase_ != phase::open) return;
    if (payload.empty()) return;
    std::size_t written = 0;
    if (phase_ == phase::open && pending_.empty()) {
        // Fast path: the socket takes it now; only the rest is queued.
        error_code ec;
        written = socket_.write_some(asio::buffer(payload.data(), payload.size()), ec);
        if (ec) written = 0;  // would_block, or an error pump_down will meet and report
        bytes_down_ += written;
    }
    if (written == payload.size()) return;
    pending_.emplace_back(payload.begin() + static_cast<std::ptrdiff_t>(written), payload.end());
    pending_bytes_ += payload.size() - written;
    wake_down_.cancel();
}

void tcp_link::close_by_runner() {
    state_->release(client_id_, this);
    silent_ = true;
    if (phase_ == phase::opening || phase_ == phase::open) {
        phase_ = phase::flushing;
        wake_down_.cancel();
    }
}

void tcp_link::abort() {
    silent_ = true;
    close_now();
}

void tcp_link::fail(std::string_view reason) {
    log_warn("connection closed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
    tell_runner_closed();
    close_now();
}

asio::awaitable<bool> tcp_link::wait_pending_at_most(std::size_t limit, std::chrono::milliseconds timeout) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (pending_bytes_ > limit && phase_ != phase::closed) {
        wake_drained_.expires_at(deadline);
        auto [ec] = co_await wake_drained_.async_wait(use_tuple);
        if (!ec) co_return pending_bytes_ <= limit || phase_ == phase::closed;  // timed out
    }
    co_return true;
}

asio::awaitable<void> tcp_link::pump_up() {
    while (phase_ != phase::closed) {
        auto [wec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
        if (wec || phase_ == phase::closed) co_return;
        if (!silent_ && !state_->writer.has_room()) {
            // (GCC 12 miscompiles co_await inside a condition: bind the result first.)
            bool const room = co_await state_->writer.wait_for_room();
            if (!room) co_return;  // the session is over
            if (phase_ == phase::closed) co_return;
        }
        error_code ec;
        std::size_t const available = socket_.available(ec);
        std::size_t const want = std::clamp<std::size_t>(available, 1, protocol::max_data_payload);
        frame_bytes frame(protocol::header_size + want);
        std::size_t const n = socket_.read_some(asio::buffer(frame.data() + protocol::header_size, want), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec == asio::error::eof) {
            on_local_eof();
            co_return;
        }
        if (ec) {
            on_local_error(ec);
            co_return;
        }
        if (silent_) continue;  // the runner has let go of this stream: discard
        frame.resize(protocol::header_size + n);
        protocol::write_header(
            frame.data(), protocol::make_header(msg_type::data, protocol::proto::tcp, client_id_, port_));
        bytes_up_ += n;
        state_->writer.send(std::move(frame));
    }
}

asio::awaitable<void> tcp_link::pump_down() {
    while (phase_ != phase::closed) {
        if (pending_.empty()) {
            if (phase_ == phase::flushing) {
                // Everything is written: send FIN, give the service a moment to finish, then close.
                error_code ignored;
                socket_.shutdown(tcp::socket::shutdown_send, ignored);
                if (!local_eof_) {
                    wake_down_.expires_after(close_linger);
                    co_await wake_down_.async_wait(use_tuple);
                }
                close_now();
                co_return;
            }
            wake_down_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_down_.async_wait(use_tuple);
            continue;
        }
        writing_ = true;
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(pending_.front()), use_tuple);
        writing_ = false;
        if (phase_ == phase::closed) {
            pending_.clear();
            co_return;
        }
        if (ec) {
            on_local_error(ec);
            co_return;
        }
        bytes_down_ += n;
        pending_bytes_ -= pending_.front().size();
        pending_.pop_front();
        wake_drained_.cancel();
    }
}

void tcp_link::on_local_eof() {
    local_eof_ = true;
    if (phase_ == phase::open) {
        // The service closed: what it sent has gone up already; tell the runner, then flush.
        tell_runner_closed();
        phase_ = phase::flushing;
    }
    wake_down_.cancel();
}

void tcp_link::on_local_error(error_code ec) {
    if (phase_ == phase::closed) return;
    log_debug("local socket error", {{"client_id", client_id_}, {"reason", ec.message()}});
    tell_runner_closed();
    close_now();
}

void tcp_link::tell_runner_closed() {
    if (!silent_) state_->send_control(msg_type::close, protocol::proto::tcp, client_id_, port_);
    silent_ = true;
    state_->release(client_id_, this);
}

void tcp_link::close_now() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    silent_ = true;
    state_->release(client_id_, this);
    state_->live.erase(this);
    error_code ignored;
    socket_.close(ignored);
    // A buffer being written stays until its (now aborted) write completes.
    pending_.erase(writing_ ? std::next(pending_.begin()) : pending_.begin(), pending_.end());
    pending_bytes_ = 0;
    wake_down_.cancel();
    wake_drained_.cancel();
}

}  // namespace tunnel
