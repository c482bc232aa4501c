// UDP: 512-byte datagrams to the UDP echo over one flow or several side by side, with at most
// `udp_window` unanswered in all (shared evenly between the flows). Each flow's first echo comes
// before the clock starts. When 50 ms pass without an echo on a flow, its outstanding ones are
// written off as lost and sending resumes. At the end, stragglers get 200 ms. Rate = echoes
// received / time to the last echo; loss = 1 - received/sent.
// CPU: the measured processes' utime+stime per echoed datagram (it crossed them both ways); a
// relay's per-flow socat child is alive from the first datagram to the end, so it is read live.

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "run_all.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

struct flow_result {
    std::size_t sent = 0;
    std::size_t received = 0;
    clock_type::time_point last_echo;
};

std::vector<std::uint8_t> const datagram(512, 0x5a);

// One datagram there and back before the clock starts, so that setting a flow up (socat forks a
// child for it, a client opens its socket) is not in the rate. Flows are set up one at a time:
// socat's listener takes a new peer only between two forks, and drops what comes meanwhile.
asio::awaitable<void> set_up(run_context& ctx, datagram_flow& flow) {
    using namespace std::chrono_literals;
    for (int attempt = 0; attempt < 10 && flow.received() == 0; ++attempt) {
        bool const ok = co_await flow.send(datagram);
        if (!ok) throw std::runtime_error("sending a datagram failed");
        auto const until = std::min(clock_type::now() + 200ms, ctx.deadline);
        while (flow.received() == 0 && clock_type::now() < until) co_await flow.wait_receive(until);
    }
    if (flow.received() == 0) throw std::runtime_error("no datagram came back");
}

asio::awaitable<void> echo_flow(run_context& ctx, datagram_flow& flow, std::size_t total, std::size_t window,
                                flow_result& out) {
    using namespace std::chrono_literals;
    std::size_t const before = flow.received();  // set_up's echoes (a late second one may come)
    auto const received = [&] { return flow.received() - before; };
    std::size_t written_off = 0;
    std::size_t last_count = 0;
    auto note_echoes = [&] {
        if (received() == last_count) return false;
        last_count = received();
        out.last_echo = clock_type::now();
        return true;
    };
    while (out.sent < total) {
        if (clock_type::now() >= ctx.deadline) throw std::runtime_error("udp run out of time");
        note_echoes();
        std::size_t const answered = received() + written_off;
        if (out.sent < answered + window) {
            bool const ok = co_await flow.send(datagram);
            if (!ok) throw std::runtime_error("sending a datagram failed");
            ++out.sent;
            continue;
        }
        co_await flow.wait_receive(clock_type::now() + 50ms);
        if (!note_echoes()) written_off = out.sent - received();  // nothing for 50 ms: presume lost
    }
    // Stragglers: wait until all are back, or 200 ms pass without a new one.
    while (received() < out.sent && clock_type::now() < ctx.deadline) {
        note_echoes();
        co_await flow.wait_receive(clock_type::now() + 200ms);
        if (!note_echoes()) break;
    }
    out.received = std::min(received(), out.sent);
}

}  // namespace

asio::awaitable<std::vector<figure>> run_udp(run_context& ctx, std::size_t flows) {
    std::vector<std::unique_ptr<datagram_flow>> open;
    for (std::size_t i = 0; i < flows; ++i) {
        open.push_back(co_await ctx.net.open_udp());
        co_await set_up(ctx, *open.back());
    }
    std::size_t const window = std::max<std::size_t>(ctx.opt.udp_window / flows, 1);
    auto const target_cpu = [&] { return tree_cpu_seconds(ctx.measured); };
    double const cpu_before = target_cpu();
    double const harness_before = harness_cpu_seconds();
    auto const start = clock_type::now();
    std::vector<flow_result> results(flows, flow_result{0, 0, start});
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < flows; ++i) {
        // The datagrams shared out; the first flows take the remainder.
        std::size_t const share = ctx.opt.datagrams / flows + (i < ctx.opt.datagrams % flows ? 1 : 0);
        tasks.push_back(echo_flow(ctx, *open[i], share, window, results[i]));
    }
    co_await run_all(std::move(tasks));
    std::size_t sent = 0;
    std::size_t received = 0;
    auto last_echo = start;
    for (auto const& r : results) {
        sent += r.sent;
        received += r.received;
        last_echo = std::max(last_echo, r.last_echo);
    }
    double const cpu = target_cpu() - cpu_before;
    double const harness_busy = (harness_cpu_seconds() - harness_before) /
                                std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& flow : open) flow->close();
    if (received == 0) throw std::runtime_error("no datagram came back");
    double const elapsed = std::chrono::duration<double>(last_echo - start).count();
    double const loss =
        100.0 * static_cast<double>(sent - std::min(received, sent)) / static_cast<double>(sent);
    // One flow keeps the ids it always had ("udp."); several are "udp8." and so on.
    std::string const id = flows == 1 ? "udp" : "udp" + std::to_string(flows);
    std::string const label = flows == 1 ? "UDP" : "UDP x" + std::to_string(flows);
    std::vector<figure> out{{id + ".datagrams_s", label + " 512 B echo", "dgram/s",
                             static_cast<double>(received) / elapsed, true},
                            {id + ".loss_pct", label + " loss", "%", loss, false}};
    if (!ctx.measured.empty())
        out.push_back({id + ".cpu_us_per_dgram", "CPU per " + label + " echo", "us",
                       1e6 * cpu / static_cast<double>(received), false});
    out.push_back({id + ".harness_cpu_pct", "harness CPU busy, " + label, "%", 100.0 * harness_busy, false});
    co_return out;
}

}  // namespace bench
