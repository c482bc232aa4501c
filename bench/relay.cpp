#include "relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "proc_stats.hpp"

namespace bench {

namespace asio = boost::asio;

std::uint16_t free_port(bool udp) {
    asio::io_context ioc;
    if (udp) {
        asio::ip::udp::socket s(ioc, {asio::ip::address_v4::loopback(), 0});
        return s.local_endpoint().port();
    }
    asio::ip::tcp::acceptor a(ioc, {asio::ip::address_v4::loopback(), 0});
    return a.local_endpoint().port();
}

std::vector<std::string> relay::command(service s, std::uint16_t listen_port, std::uint16_t service_port) {
    std::string const listen = std::to_string(listen_port);
    std::string const target = "127.0.0.1:" + std::to_string(service_port);
    if (s == service::udp_echo)
        return {"socat", "-b65536", "UDP-LISTEN:" + listen + ",bind=127.0.0.1,fork,reuseaddr",
                "UDP:" + target};
    return {"socat", "-b65536", "TCP-LISTEN:" + listen + ",bind=127.0.0.1,reuseaddr,fork,backlog=4096",
            "TCP:" + target};
}

relay::relay(services const& svc, std::vector<service> const& needs) {
    for (service s : needs) {
        std::uint16_t const port = free_port(s == service::udp_echo);
        auto process = std::make_unique<child_process>(command(s, port, svc.port(s)), "socat");
        entries_.push_back(entry{s, port, std::move(process)});
    }
}

asio::awaitable<void> relay::wait_ready(std::chrono::milliseconds limit) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (auto& e : entries_) {
        for (;;) {
            bool const ready = e.svc == service::udp_echo ? udp_bound(e.port) : tcp_listening(e.port);
            if (ready) break;
            if (e.process->poll_exit() || std::chrono::steady_clock::now() >= deadline) {
                e.process->keep_log();
                throw std::runtime_error("socat for " + std::string(service_name(e.svc)) +
                                         " did not start listening; log " + e.process->log_path() + ": " +
                                         e.process->log_tail(500));
            }
            timer.expires_after(std::chrono::milliseconds(2));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
}

std::uint16_t relay::port(service s) const {
    for (auto const& e : entries_)
        if (e.svc == s) return e.port;
    throw std::logic_error(std::string("no relay in front of ") + service_name(s));
}

std::vector<pid_t> relay::pids() const {
    std::vector<pid_t> out;
    for (auto const& e : entries_) out.push_back(e.process->pid());
    return out;
}

asio::awaitable<void> relay::stop() {
    for (auto& e : entries_) co_await e.process->stop(std::chrono::milliseconds(1000));
}

void relay::keep_logs() {
    for (auto& e : entries_) e.process->keep_log();
}

}  // namespace bench
