// UDP: 512-byte datagrams to the UDP echo with at most `udp_window` unanswered. When 50 ms pass
// without an echo, the outstanding ones are written off as lost and sending resumes. At the end,
// stragglers get 200 ms. Rate = echoes received / time to the last echo; loss = 1 - received/sent.
// CPU: the measured processes' utime+stime per echoed datagram (it crossed them both ways); a
// relay's per-flow socat child is alive from the first datagram to the end, so it is read live.

#include <stdexcept>

#include "scenarios/scenario.hpp"

namespace bench {

namespace asio = boost::asio;

asio::awaitable<std::vector<figure>> run_udp(run_context& ctx) {
    using namespace std::chrono_literals;
    auto flow = co_await ctx.net.open_udp();
    std::vector<std::uint8_t> datagram(512, 0x5a);
    std::size_t const total = ctx.opt.datagrams;
    std::size_t const window = std::max<std::size_t>(ctx.opt.udp_window, 1);
    std::size_t sent = 0;
    std::size_t written_off = 0;
    auto const target_cpu = [&] {
        double total = 0;
        for (pid_t pid : ctx.measured) total += tree_cpu_seconds(pid);
        return total;
    };
    double const cpu_before = target_cpu();
    double const harness_before = harness_cpu_seconds();
    auto const start = clock_type::now();
    auto last_echo = start;
    std::size_t last_count = 0;
    auto note_echoes = [&] {
        if (flow->received() == last_count) return false;
        last_count = flow->received();
        last_echo = clock_type::now();
        return true;
    };

    while (sent < total) {
        if (clock_type::now() >= ctx.deadline) throw std::runtime_error("udp run out of time");
        note_echoes();
        std::size_t const answered = flow->received() + written_off;
        if (sent < answered + window) {
            bool const ok = co_await flow->send(datagram);
            if (!ok) throw std::runtime_error("sending a datagram failed");
            ++sent;
            continue;
        }
        co_await flow->wait_receive(clock_type::now() + 50ms);
        if (!note_echoes()) written_off = sent - flow->received();  // nothing for 50 ms: presume lost
    }
    // Stragglers: wait until all are back, or 200 ms pass without a new one.
    while (flow->received() < sent && clock_type::now() < ctx.deadline) {
        note_echoes();
        co_await flow->wait_receive(clock_type::now() + 200ms);
        if (!note_echoes()) break;
    }
    std::size_t const received = flow->received();
    double const cpu = target_cpu() - cpu_before;
    double const harness_busy = (harness_cpu_seconds() - harness_before) /
                                std::chrono::duration<double>(clock_type::now() - start).count();
    flow->close();
    if (received == 0) throw std::runtime_error("no datagram came back");
    double const elapsed = std::chrono::duration<double>(last_echo - start).count();
    double const loss =
        100.0 * static_cast<double>(sent - std::min(received, sent)) / static_cast<double>(sent);
    std::vector<figure> out{
        {"udp.datagrams_s", "UDP 512 B echo", "dgram/s", static_cast<double>(received) / elapsed, true},
        {"udp.loss_pct", "UDP loss", "%", loss, false}};
    if (!ctx.measured.empty())
        out.push_back({"udp.cpu_us_per_dgram", "CPU per UDP echo", "us",
                       1e6 * cpu / static_cast<double>(received), false});
    out.push_back({"udp.harness_cpu_pct", "harness CPU busy, UDP", "%", 100.0 * harness_busy, false});
    co_return out;
}

}  // namespace bench
