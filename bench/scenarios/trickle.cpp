// Trickle: 64-byte echoes at a fixed rate over one connection, the way an interactive session or a
// health check uses a tunnel. Open loop: request i is due at start + i/rate whatever the answers
// do (a late answer does not delay the next request; several may be outstanding); the sender
// sleeps on a timer between sends. Latency runs from the moment request i is handed to the
// transport to the moment its echo has been read. CPU: the measured processes' utime+stime over
// the run's wall time, as a share of one core, read live (a relay's per-connection socat child is
// alive for the whole run).

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <stdexcept>
#include <string>

#include "run_all.hpp"
#include "scenarios/scenario.hpp"
#include "stats.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

using request_bytes = std::array<std::uint8_t, 64>;

// Lockstep echoes before the clock starts: CONNECTED has come, socat has forked its child, and
// first-use costs (allocations, page faults) are paid.
constexpr std::size_t warmup_echoes = 10;

request_bytes request_for(std::size_t i) {
    request_bytes out;
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = static_cast<std::uint8_t>(i * 13 + k);
    return out;
}

struct schedule {
    clock_type::time_point start;
    clock_type::duration interval;
    std::size_t count = 0;
    clock_type::time_point due(std::size_t i) const {
        return start + interval * static_cast<clock_type::rep>(i);
    }
};

struct timeline {
    std::vector<clock_type::time_point> sent;  // when request i was handed to the transport
    std::vector<double> latency_us;            // echo i read - sent[i]
    std::vector<double> lag_us;                // sent[i] - due(i): how late the harness was
};

asio::awaitable<void> send_on_schedule(connection& conn, schedule const& plan, timeline& t) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (std::size_t i = 0; i < plan.count; ++i) {
        timer.expires_at(plan.due(i));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        auto const request = request_for(i);
        auto const now = clock_type::now();
        t.sent.push_back(now);
        t.lag_us.push_back(std::chrono::duration<double, std::micro>(now - plan.due(i)).count());
        bool const written = co_await conn.write(request);
        if (!written)
            throw std::runtime_error("writing to the echo failed (request " + std::to_string(i) + ")");
    }
}

asio::awaitable<void> read_echoes(connection& conn, schedule const& plan, timeline& t) {
    request_bytes reply{};
    for (std::size_t i = 0; i < plan.count; ++i) {
        bool const read = co_await conn.read_exact(reply);
        auto const now = clock_type::now();
        if (!read) throw std::runtime_error("no echo for request " + std::to_string(i));
        if (reply != request_for(i)) throw std::runtime_error("the echo returned different bytes");
        // Echo i cannot come before request i was written, so sent[i] is there.
        t.latency_us.push_back(std::chrono::duration<double, std::micro>(now - t.sent[i]).count());
    }
}

asio::awaitable<void> warm_up(connection& conn) {
    for (std::size_t i = 0; i < warmup_echoes; ++i) {
        auto const request = request_for(i);
        request_bytes reply{};
        bool const written = co_await conn.write(request);
        bool const read = written && co_await conn.read_exact(reply);
        if (!read || reply != request) throw std::runtime_error("the warm-up echo failed");
    }
}

}  // namespace

asio::awaitable<std::vector<figure>> run_trickle(run_context& ctx, unsigned rate) {
    auto conn = co_await ctx.net.connect(service::echo);
    co_await warm_up(*conn);

    schedule plan;
    plan.interval =
        std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / rate));
    plan.count =
        std::max<std::size_t>(static_cast<std::size_t>(std::llround(rate * ctx.opt.trickle_seconds)), 1);
    timeline t;
    t.sent.reserve(plan.count);
    t.latency_us.reserve(plan.count);
    t.lag_us.reserve(plan.count);

    auto const target_cpu = [&] { return tree_cpu_seconds(ctx.measured); };
    double const cpu_before = target_cpu();
    double const harness_before = harness_cpu_seconds();
    auto const wall_start = clock_type::now();
    plan.start = wall_start + plan.interval;
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(send_on_schedule(*conn, plan, t));
    tasks.push_back(read_echoes(*conn, plan, t));
    co_await run_all(std::move(tasks));
    double const cpu = target_cpu() - cpu_before;
    double const harness_cpu = harness_cpu_seconds() - harness_before;
    double const wall = std::chrono::duration<double>(clock_type::now() - wall_start).count();
    conn->close();

    std::string const key = "trickle" + std::to_string(rate);
    std::string const label = "trickle " + std::to_string(rate) + "/s, ";
    std::vector<figure> out;
    if (!ctx.measured.empty())
        out.push_back({key + ".cpu_pct", label + "CPU (of one core)", "%", 100.0 * cpu / wall, false});
    out.push_back({key + ".p50_us", label + "echo p50", "us", percentile(t.latency_us, 0.50), false});
    out.push_back({key + ".p99_us", label + "echo p99", "us", percentile(t.latency_us, 0.99), false});
    out.push_back(
        {key + ".harness_cpu_pct", label + "harness CPU busy", "%", 100.0 * harness_cpu / wall, false});
    out.push_back(
        {key + ".send_lag_p99_us", label + "harness send lag p99", "us", percentile(t.lag_us, 0.99), false});
    co_return out;
}

}  // namespace bench
