// Idle connections: open N through the client to a service that only holds them (at most 256
// opening at once, each confirmed by CONNECTED), then read the client's memory. KiB per connection
// = (VmRSS with N open - VmRSS before) / N. Tunnel clients only: socat forks a process per
// connection, and direct has nothing in the middle.

#include <stdexcept>

#include "run_all.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

constexpr std::size_t opening_at_once = 256;

asio::awaitable<void> opener(run_context& ctx, std::size_t& next,
                             std::vector<std::unique_ptr<connection>>& conns) {
    while (next < conns.size()) {
        std::size_t const i = next++;
        conns[i] = co_await ctx.net.connect(service::idle);
        bool const opened = co_await conns[i]->wait_open();
        if (!opened) throw std::runtime_error("idle connection " + std::to_string(i) + " was refused");
    }
}

}  // namespace

asio::awaitable<std::vector<figure>> run_idle(run_context& ctx) {
    if (ctx.measured.empty()) throw std::runtime_error("idle needs a measured process");
    pid_t const pid = ctx.measured.front();
    auto& counters = ctx.svc.counters(service::idle);
    counters.reset();
    std::size_t const n = ctx.opt.idle;

    auto const before = process_memory(pid);
    std::vector<std::unique_ptr<connection>> conns(n);
    std::size_t next = 0;
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < std::min(opening_at_once, n); ++i) tasks.push_back(opener(ctx, next, conns));
    co_await run_all(std::move(tasks));
    bool const held = co_await ctx.svc.wait_until([&] { return counters.open() >= n; }, ctx.deadline);
    if (!held)
        throw std::runtime_error("the idle service holds " + std::to_string(counters.open()) + " of " +
                                 std::to_string(n) + " connections");
    auto const with_idle = process_memory(pid);

    for (auto& conn : conns) conn->close();
    bool const released = co_await ctx.svc.wait_until([&] { return counters.open() == 0; }, ctx.deadline);
    if (!released) throw std::runtime_error("the client did not close every idle connection after CLOSE");

    double const per_conn =
        (static_cast<double>(with_idle.rss) - static_cast<double>(before.rss)) / static_cast<double>(n);
    std::string const count = std::to_string(n);
    co_return std::vector<figure>{
        {"idle.rss_before_kib", "client VmRSS before", "KiB", static_cast<double>(before.rss), false},
        {"idle.rss_kib", "client VmRSS, " + count + " idle", "KiB", static_cast<double>(with_idle.rss),
         false},
        {"idle.hwm_kib", "client VmHWM, " + count + " idle", "KiB", static_cast<double>(with_idle.hwm),
         false},
        {"idle.kib_per_conn", "client memory per idle connection", "KiB", per_conn, false}};
}

}  // namespace bench
