// Throughput, both directions, 1 or N streams at once: the run ends when every byte has arrived
// (at the sink, or back at the harness from the source), and the byte counts must match exactly.
// CPU: the measured processes' utime+stime over the run, per GiB moved.

#include <boost/asio/co_spawn.hpp>
#include <stdexcept>

#include "buffer_pattern.hpp"
#include "run_all.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

namespace asio = boost::asio;

namespace {

std::vector<std::uint8_t> const& payload() {
    static auto const bytes = make_pattern(64 * 1024);
    return bytes;
}

asio::awaitable<void> push(run_context& ctx, std::size_t bytes) {
    auto conn = co_await ctx.net.connect(service::sink);
    auto const& data = payload();
    for (std::size_t left = bytes; left > 0;) {
        std::size_t const n = std::min(left, data.size());
        bool const written = co_await conn->write({data.data(), n});
        if (!written) throw std::runtime_error("writing to the sink failed");
        left -= n;
    }
    conn->close();
}

asio::awaitable<void> pull(run_context& ctx, std::size_t bytes) {
    auto conn = co_await ctx.net.connect(service::source);
    std::uint8_t request[source_request_size];
    encode_source_request(request, bytes);
    bool const written = co_await conn->write(request);
    if (!written) throw std::runtime_error("sending the request to the source failed");
    auto const got = co_await conn->read_to_end();
    if (!got) throw std::runtime_error("reading from the source failed");
    if (*got != bytes)
        throw std::runtime_error("source stream delivered " + std::to_string(*got) + " of " +
                                 std::to_string(bytes) + " bytes");
    conn->close();
}

}  // namespace

asio::awaitable<std::vector<figure>> run_throughput(run_context& ctx, bool down, std::size_t streams) {
    std::size_t const per_stream = std::max<std::size_t>(ctx.opt.bytes / streams, 1);
    std::size_t const total = per_stream * streams;
    service const svc = down ? service::sink : service::source;
    auto& counters = ctx.svc.counters(svc);
    counters.reset();

    double cpu_before = 0;
    if (ctx.settled_cpu_seconds) cpu_before = co_await ctx.settled_cpu_seconds();

    double const harness_before = harness_cpu_seconds();
    auto const start = clock_type::now();
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < streams; ++i)
        tasks.push_back(down ? push(ctx, per_stream) : pull(ctx, per_stream));
    co_await run_all(std::move(tasks));
    if (down) {
        // Everything is written on the harness's side; it counts once the sink has seen it all.
        bool const all_in =
            co_await ctx.svc.wait_until([&] { return counters.finished >= streams; }, ctx.deadline);
        if (!all_in) throw std::runtime_error("the sink did not see every stream end in time");
    }
    auto const elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    double const harness_busy = (harness_cpu_seconds() - harness_before) / elapsed;

    if (counters.bytes != total)
        throw std::runtime_error(std::string(down ? "the sink received " : "the source sent ") +
                                 std::to_string(counters.bytes) + " bytes, expected " +
                                 std::to_string(total));
    if (counters.accepted != streams)
        throw std::runtime_error(std::string(service_name(svc)) + " accepted " +
                                 std::to_string(counters.accepted) + " connections, expected " +
                                 std::to_string(streams));

    std::string const key = (down ? "down" : "up") + std::to_string(streams);
    std::string const label = std::string("throughput ") + (down ? "down" : "up") + ", " +
                              std::to_string(streams) + (streams == 1 ? " stream" : " streams");
    double const mib = static_cast<double>(total) / (1 << 20);
    std::vector<figure> out{{key + ".mib_s", label, "MiB/s", mib / elapsed, true}};
    if (ctx.settled_cpu_seconds) {
        double const cpu_after = co_await ctx.settled_cpu_seconds();
        double const gib = static_cast<double>(total) / (1 << 30);
        out.push_back({key + ".cpu_s_per_gib",
                       "CPU per GiB, " + std::string(down ? "down" : "up") + " x" + std::to_string(streams),
                       "s/GiB", (cpu_after - cpu_before) / gib, false});
    }
    out.push_back({key + ".harness_cpu_pct",
                   "harness CPU busy, " + std::string(down ? "down" : "up") + " x" + std::to_string(streams),
                   "%", 100.0 * harness_busy, false});
    co_return out;
}

}  // namespace bench
