// Connection rate: 16 workers each repeat open -> one 64-byte echo -> close until the run's count
// of cycles is done. Through a tunnel: CONNECT, DATA at once (as the runner's CLI does), the echo
// back (CONNECTED must have come first), CLOSE. Direct/relay: TCP connect, echo, close.

#include <array>
#include <stdexcept>

#include "run_all.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

constexpr std::size_t in_flight = 16;

asio::awaitable<void> cycle_worker(run_context& ctx, std::size_t& started, std::size_t total) {
    std::array<std::uint8_t, 64> request{};
    std::array<std::uint8_t, 64> reply{};
    while (started < total) {
        std::size_t const n = started++;
        for (std::size_t k = 0; k < request.size(); ++k) request[k] = static_cast<std::uint8_t>(n * 7 + k);
        auto conn = co_await ctx.net.connect(service::echo);
        bool const written = co_await conn->write(request);
        if (!written)
            throw std::runtime_error("writing to the echo failed (cycle " + std::to_string(n) + ")");
        bool const read = co_await conn->read_exact(reply);
        if (!read) throw std::runtime_error("no echo (cycle " + std::to_string(n) + ")");
        if (reply != request) throw std::runtime_error("the echo returned different bytes");
        bool const opened = co_await conn->wait_open();  // immediate: CONNECTED preceded the echo
        if (!opened) throw std::runtime_error("echo without CONNECTED");
        conn->close();
    }
}

}  // namespace

asio::awaitable<std::vector<figure>> run_connection_rate(run_context& ctx) {
    auto& counters = ctx.svc.counters(service::echo);
    counters.reset();
    std::size_t const total = ctx.opt.cycles;
    std::size_t started = 0;
    auto const start = clock_type::now();
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < in_flight; ++i) tasks.push_back(cycle_worker(ctx, started, total));
    co_await run_all(std::move(tasks));
    auto const elapsed = std::chrono::duration<double>(clock_type::now() - start).count();

    // Not timed: every cycle must have reached the echo and been closed there.
    bool const all_closed =
        co_await ctx.svc.wait_until([&] { return counters.finished >= total; }, ctx.deadline);
    if (!all_closed || counters.accepted != total)
        throw std::runtime_error("the echo saw " + std::to_string(counters.accepted) + " connections and " +
                                 std::to_string(counters.finished) + " closes, expected " +
                                 std::to_string(total));
    co_return std::vector<figure>{{"connrate.cycles_s", "connection cycles, 16 in flight", "cycles/s",
                                   static_cast<double>(total) / elapsed, true}};
}

}  // namespace bench
