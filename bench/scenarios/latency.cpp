// Latency: 64-byte request, wait for the 64-byte echo, repeat. Each connection warms up first
// (a tenth of its share, at least 10), then records every round trip; with several connections
// they run at once and their samples are pooled.

#include <array>
#include <stdexcept>

#include "run_all.hpp"
#include "scenarios/scenario.hpp"
#include "stats.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> ping_pong(run_context& ctx, std::size_t warmup, std::size_t count,
                                std::vector<double>& samples) {
    auto conn = co_await ctx.net.connect(service::echo);
    std::array<std::uint8_t, 64> request{};
    std::array<std::uint8_t, 64> reply{};
    samples.reserve(count);
    for (std::size_t i = 0; i < warmup + count; ++i) {
        for (std::size_t k = 0; k < request.size(); ++k) request[k] = static_cast<std::uint8_t>(i + k);
        auto const start = clock_type::now();
        bool const written = co_await conn->write(request);
        if (!written) throw std::runtime_error("writing to the echo failed");
        bool const read = co_await conn->read_exact(reply);
        if (!read) throw std::runtime_error("reading from the echo failed");
        auto const end = clock_type::now();
        if (reply != request) throw std::runtime_error("the echo returned different bytes");
        if (i >= warmup) samples.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    conn->close();
}

}  // namespace

asio::awaitable<std::vector<figure>> run_latency(run_context& ctx, std::size_t connections) {
    std::size_t const per_connection = std::max<std::size_t>(ctx.opt.requests / connections, 1);
    std::size_t const warmup = std::max<std::size_t>(per_connection / 10, 10);
    std::vector<std::vector<double>> samples(connections);
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < connections; ++i)
        tasks.push_back(ping_pong(ctx, warmup, per_connection, samples[i]));
    co_await run_all(std::move(tasks));

    std::vector<double> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    if (all.size() != per_connection * connections) throw std::runtime_error("missing latency samples");
    std::string const key = "latency" + std::to_string(connections);
    std::string const label = "64 B echo latency, " + std::to_string(connections) +
                              (connections == 1 ? " connection, " : " connections, ");
    double const p50 = percentile(all, 0.50);
    double const p99 = percentile(all, 0.99);
    double const p999 = percentile(all, 0.999);
    co_return std::vector<figure>{{key + ".p50_us", label + "p50", "us", p50, false},
                                  {key + ".p99_us", label + "p99", "us", p99, false},
                                  {key + ".p999_us", label + "p99.9", "us", p999, false}};
}

}  // namespace bench
