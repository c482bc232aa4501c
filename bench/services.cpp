#include "services.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <vector>

#include "buffer_pattern.hpp"

namespace bench {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk = 64 * 1024;

tcp::acceptor listen_loopback(asio::any_io_executor ex) {
    tcp::acceptor acceptor(ex);
    tcp::endpoint const endpoint(asio::ip::address_v4::loopback(), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}
}  // namespace

char const* service_name(service s) {
    switch (s) {
        case service::echo:
            return "echo";
        case service::sink:
            return "sink";
        case service::source:
            return "source";
        case service::idle:
            return "idle";
        case service::udp_echo:
            return "udp-echo";
    }
    return "?";
}

void encode_source_request(std::uint8_t* out, std::uint64_t bytes) {
    for (int i = 7; i >= 0; --i, bytes >>= 8) out[i] = static_cast<std::uint8_t>(bytes & 0xff);
}

services::services(asio::any_io_executor ex)
    : executor_(ex),
      echo_(listen_loopback(ex)),
      sink_(listen_loopback(ex)),
      source_(listen_loopback(ex)),
      idle_(listen_loopback(ex)),
      udp_(ex, udp::endpoint(asio::ip::address_v4::loopback(), 0)),
      pattern_(std::make_shared<std::vector<std::uint8_t>>(make_pattern(chunk))) {
    // Room for bursts of datagrams while the harness is busy elsewhere.
    boost::system::error_code ignored;
    udp_.set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ignored);
}

void services::start() {
    for (auto s : {service::echo, service::sink, service::source, service::idle})
        asio::co_spawn(executor_, accept_loop(s), asio::detached);
    asio::co_spawn(executor_, udp_echo(), asio::detached);
}

void services::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    echo_.close(ignored);
    sink_.close(ignored);
    source_.close(ignored);
    idle_.close(ignored);
    udp_.close(ignored);
    notify();
}

std::uint16_t services::port(service s) const {
    switch (s) {
        case service::echo:
            return echo_.local_endpoint().port();
        case service::sink:
            return sink_.local_endpoint().port();
        case service::source:
            return source_.local_endpoint().port();
        case service::idle:
            return idle_.local_endpoint().port();
        case service::udp_echo:
            return udp_.local_endpoint().port();
    }
    return 0;
}

service_counters& services::counters(service s) { return counters_[static_cast<int>(s)]; }

void services::notify() {
    for (auto* waiter : waiters_) waiter->cancel();
}

asio::awaitable<bool> services::wait_until(std::function<bool()> pred,
                                           std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer timer(executor_);
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        timer.expires_at(deadline);
        waiters_.push_back(&timer);
        co_await timer.async_wait(use_tuple);  // cancelled by notify(), or the deadline
        std::erase(waiters_, &timer);
    }
    co_return true;
}

asio::awaitable<void> services::accept_loop(service s) {
    tcp::acceptor& acceptor = s == service::echo     ? echo_
                              : s == service::sink   ? sink_
                              : s == service::source ? source_
                                                     : idle_;
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) continue;  // e.g. EMFILE: the scenario will time out and report it
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        ++counters(s).accepted;
        notify();
        switch (s) {
            case service::echo:
                asio::co_spawn(executor_, echo(std::move(socket)), asio::detached);
                break;
            case service::sink:
                asio::co_spawn(executor_, sink(std::move(socket)), asio::detached);
                break;
            case service::source:
                asio::co_spawn(executor_, source(std::move(socket)), asio::detached);
                break;
            default:
                asio::co_spawn(executor_, idle(std::move(socket)), asio::detached);
                break;
        }
    }
}

asio::awaitable<void> services::echo(tcp::socket socket) {
    std::vector<std::uint8_t> buffer(16 * 1024);
    for (;;) {
        auto [rec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
        if (rec) break;
        auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buffer.data(), n), use_tuple);
        if (wec) break;
    }
    ++counters(service::echo).finished;
    notify();
}

asio::awaitable<void> services::sink(tcp::socket socket) {
    std::vector<std::uint8_t> buffer(chunk);
    auto& c = counters(service::sink);
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
        c.bytes += n;
        if (ec) break;
    }
    ++c.finished;
    notify();
}

asio::awaitable<void> services::source(tcp::socket socket) {
    std::uint8_t request[source_request_size];
    auto [rec, rn] = co_await asio::async_read(socket, asio::buffer(request), use_tuple);
    auto& c = counters(service::source);
    if (!rec) {
        std::uint64_t remaining = 0;
        for (auto b : request) remaining = (remaining << 8) | b;
        auto pattern = pattern_;  // keeps the bytes alive across the writes
        while (remaining > 0) {
            std::size_t const n =
                static_cast<std::size_t>(std::min<std::uint64_t>(remaining, pattern->size()));
            auto [wec, w] = co_await asio::async_write(socket, asio::buffer(pattern->data(), n), use_tuple);
            c.bytes += w;
            if (wec) break;
            remaining -= n;
        }
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    ++c.finished;
    notify();
}

asio::awaitable<void> services::idle(tcp::socket socket) {
    // Holds the connection (nothing is ever sent on it) until the peer closes it.
    std::uint8_t byte = 0;
    for (;;) {
        auto [rec, n] = co_await socket.async_read_some(asio::buffer(&byte, 1), use_tuple);
        if (rec) break;
    }
    ++counters(service::idle).finished;
    notify();
}

asio::awaitable<void> services::udp_echo() {
    std::vector<std::uint8_t> buffer(65536);
    udp::endpoint from;
    auto& c = counters(service::udp_echo);
    while (!stopped_) {
        auto [rec, n] = co_await udp_.async_receive_from(asio::buffer(buffer), from, use_tuple);
        if (rec == asio::error::operation_aborted || !udp_.is_open()) co_return;
        if (rec) continue;  // ICMP errors from a peer that went away
        ++c.accepted;
        auto [sec, s] = co_await udp_.async_send_to(asio::buffer(buffer.data(), n), from, use_tuple);
        if (!sec) ++c.bytes;
    }
}

}  // namespace bench
