#pragma once
// The container's services, played by the harness on 127.0.0.1: echo, sink, source, idle holder
// and a UDP echo. They run on the harness's io_context for the whole run; scenarios read their
// counters (reset per measurement) to know when a run is complete.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace bench {

enum class service { echo, sink, source, idle, udp_echo };
char const* service_name(service s);

// Counters of one service since the last reset. Waiters are woken on every event a scenario waits
// for (a connection accepted or finished), never per byte.
struct service_counters {
    std::size_t accepted = 0;
    std::size_t finished = 0;  // connections that reached EOF (or an error) and were closed
    std::size_t bytes = 0;     // sink: bytes received; source: bytes sent; udp: datagrams echoed
    std::size_t open() const { return accepted - finished; }
    void reset() { accepted = finished = bytes = 0; }
};

class services {
public:
    explicit services(boost::asio::any_io_executor ex);

    void start();
    void stop();

    std::uint16_t port(service s) const;
    service_counters& counters(service s);
    // Waits until pred() holds, re-checked on every service event; false at the deadline.
    boost::asio::awaitable<bool> wait_until(std::function<bool()> pred,
                                            std::chrono::steady_clock::time_point deadline);

private:
    using tcp = boost::asio::ip::tcp;
    boost::asio::awaitable<void> accept_loop(service s);
    boost::asio::awaitable<void> echo(tcp::socket socket);
    boost::asio::awaitable<void> sink(tcp::socket socket);
    boost::asio::awaitable<void> source(tcp::socket socket);
    boost::asio::awaitable<void> idle(tcp::socket socket);
    boost::asio::awaitable<void> udp_echo();
    void notify();

    boost::asio::any_io_executor executor_;
    tcp::acceptor echo_, sink_, source_, idle_;
    boost::asio::ip::udp::socket udp_;
    service_counters counters_[5];
    std::vector<boost::asio::steady_timer*> waiters_;  // wait_until() timers, cancelled by notify()
    std::shared_ptr<std::vector<std::uint8_t>> pattern_;
    bool stopped_ = false;
};

// The source's request: the harness sends the byte count it wants as 8 bytes, big-endian.
constexpr std::size_t source_request_size = 8;
void encode_source_request(std::uint8_t* out, std::uint64_t bytes);

}  // namespace bench
