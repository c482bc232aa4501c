#include "tunnel/tcp_link.hpp"

#include <algorithm>
#include <array>
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
    : link(client_id, port, state->next_serial()),
      state_(std::move(state)),
      socket_(state_->executor),
      timer_(state_->executor) {}

tcp_link::~tcp_link() { state_->live.erase(this); }

void tcp_link::start() {
    state_->live.insert(this);
    spawn_logged(state_->executor, run(shared_from_this()), "tcp link");
}

asio::awaitable<void> tcp_link::run(std::shared_ptr<tcp_link> self) {
    if (phase_ == phase::closed) co_return;  // aborted before it started
    auto const failure = co_await open_local();
    if (phase_ == phase::closed) co_return;  // aborted while connecting
    if (!failure.empty()) {
        if (!silent_) {
            log_info("connect failed", {{"client_id", client_id_}, {"port", port_}, {"reason", failure}});
            state_->send_control(*this, msg_type::error, protocol::proto::tcp, failure);
        }
        silent_ = true;
        close_now();
        co_return;
    }
    if (!silent_) {
        state_->send_control(*this, msg_type::connected, protocol::proto::tcp);
        log_info("connection opened", {{"client_id", client_id_}, {"port", port_}, {"proto", "tcp"}});
    }
    if (phase_ == phase::opening) phase_ = phase::open;
    socket_.non_blocking(true);
    if (!pending_.empty() || phase_ == phase::flushing) ensure_pump_down();  // DATA/CLOSE came early
    co_await pump_up();
}

asio::awaitable<std::string> tcp_link::open_local() {
    // Only the container's own loopback: 127.0.0.1, then ::1 for services listening on IPv6 only.
    std::array<asio::ip::address, 2> const loopbacks{asio::ip::address(asio::ip::address_v4::loopback()),
                                                     asio::ip::address(asio::ip::address_v6::loopback())};
    std::string reasons;
    for (auto const& address : loopbacks) {
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
        reasons += address.is_v6() ? "[::1]:" : "127.0.0.1:";
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
    pending_.push_back(frame_bytes(payload.begin() + static_cast<std::ptrdiff_t>(written), payload.end()));
    pending_bytes_ += payload.size() - written;
    state_->downstream_added(payload.size() - written);
    if (phase_ == phase::open) ensure_pump_down();
}

void tcp_link::ensure_pump_down() {
    if (pumping_down_ || phase_ == phase::closed || phase_ == phase::opening) return;
    pumping_down_ = true;
    spawn_logged(state_->executor, pump_down(shared_from_this()), "tcp link writer");
}

void tcp_link::close_by_runner() {
    state_->release(client_id_, this);
    silent_ = true;
    // The runner has forgotten this id: frames not yet sent would reach whoever reuses it.
    state_->writer.drop(serial_);
    if (phase_ == phase::opening || phase_ == phase::open) begin_flush();
}

void tcp_link::abort() {
    silent_ = true;
    state_->writer.drop(serial_);
    close_now();
}

void tcp_link::fail(std::string_view reason) {
    log_warn("connection closed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
    tell_runner_closed();
    close_now();
}

void tcp_link::begin_flush() {
    bool const opening = phase_ == phase::opening;
    phase_ = phase::flushing;
    if (!opening) ensure_pump_down();  // else run() starts it once connected
}

asio::awaitable<void> tcp_link::pump_up() {
    while (phase_ != phase::closed) {
        auto [wec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
        if (wec || phase_ == phase::closed) co_return;
        if (!silent_ && !state_->writer.has_room()) {
            // (GCC 12 miscompiles co_await inside a condition: bind the result first.)
            bool const room = co_await state_->writer.wait_for_room();
            if (!room || phase_ == phase::closed) co_return;  // the session or the link is over
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
        state_->writer.send(std::move(frame), serial_);
    }
}

asio::awaitable<void> tcp_link::pump_down(std::shared_ptr<tcp_link> self) {
    while (phase_ != phase::closed && !pending_.empty()) {
        writing_ = true;
        auto const chunk = asio::buffer(pending_.front());
        error_code ec;
        std::size_t n = 0;
        if (phase_ == phase::flushing) {
            // Nobody waits for this stream any more: a service that stops reading gets
            // stall_timeout per chunk, then the connection is cut.
            asio::steady_timer deadline(state_->executor, state_->config.stall_timeout);
            auto raced =
                co_await (asio::async_write(socket_, chunk, use_tuple) || deadline.async_wait(use_tuple));
            if (raced.index() == 0) {
                std::tie(ec, n) = std::get<0>(raced);
            } else {
                ec = asio::error::timed_out;
            }
        } else {
            std::tie(ec, n) = co_await asio::async_write(socket_, chunk, use_tuple);
        }
        writing_ = false;
        if (phase_ == phase::closed) {
            pending_.clear();
            break;
        }
        if (ec) {
            on_local_error(ec);
            break;
        }
        bytes_down_ += n;
        pending_bytes_ -= pending_.front().size();
        pending_.pop_front();
        state_->downstream_removed(n);
    }
    pumping_down_ = false;
    if (phase_ == phase::flushing && pending_.empty()) {
        // Everything is written: send FIN, give the service a moment to finish, then close.
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        if (!local_eof_) {
            timer_.expires_after(close_linger);
            co_await timer_.async_wait(use_tuple);
        }
        close_now();
    }
}

void tcp_link::on_local_eof() {
    local_eof_ = true;
    if (phase_ == phase::open) {
        // The service closed: what it sent has gone up already; tell the runner, then flush.
        tell_runner_closed();
        begin_flush();
    }
    timer_.cancel();  // a linger wait for this EOF ends now
}

void tcp_link::on_local_error(error_code ec) {
    if (phase_ == phase::closed) return;
    log_debug("local socket error", {{"client_id", client_id_}, {"reason", ec.message()}});
    tell_runner_closed();
    close_now();
}

void tcp_link::tell_runner_closed() {
    if (!silent_) state_->send_control(*this, msg_type::close, protocol::proto::tcp);
    silent_ = true;
    state_->release(client_id_, this);
}

void tcp_link::drop_pending() {
    // A buffer being written stays until its (now aborted) write completes.
    pending_.clear(writing_);
    state_->downstream_removed(pending_bytes_);
    pending_bytes_ = 0;
}

void tcp_link::close_now() {
    if (phase_ == phase::closed) return;
    bool const was_open = phase_ != phase::opening;
    phase_ = phase::closed;
    silent_ = true;
    state_->release(client_id_, this);
    state_->live.erase(this);
    error_code ignored;
    socket_.close(ignored);
    drop_pending();
    timer_.cancel();
    state_->writer.wake_producers();  // pump_up may be waiting for room: let it see the end
    if (was_open)
        log_info("connection closed", {{"client_id", client_id_},
                                       {"port", port_},
                                       {"bytes_up", bytes_up_},
                                       {"bytes_down", bytes_down_}});
}

}  // namespace tunnel
