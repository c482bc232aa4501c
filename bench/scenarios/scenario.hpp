#pragma once
// A scenario measures one thing through a transport and returns named figures. The same code runs
// for direct, relay and every tunnel client; what differs is the transport and which process's
// CPU and memory are watched.

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "options.hpp"
#include "proc_stats.hpp"
#include "services.hpp"
#include "transport.hpp"

namespace bench {

enum class target_kind { direct, relay, client };

struct run_context {
    transport& net;
    services& svc;
    bench_options const& opt;
    target_kind kind;
    std::vector<pid_t> measured;  // processes whose CPU counts: the client, or the socat relays
    // Waits until the measured processes have no live children (socat's per-connection forks
    // exit and are reaped into the parent's cutime/cstime), bounded; then their CPU seconds.
    std::function<boost::asio::awaitable<double>()> settled_cpu_seconds;
    clock_type::time_point deadline;  // for waits on service counters
};

struct figure {
    std::string id;     // stable key for JSON, e.g. "down1.mib_s"
    std::string label;  // table row, e.g. "throughput down, 1 stream"
    std::string unit;   // "MiB/s", "us", ...
    double value = 0;
    bool higher_is_better = true;
};

struct scenario {
    std::string name;  // for --scenario
    std::string summary;
    std::vector<service> needs;  // services the relay must front
    bool tunnel_only = false;    // idle: a relay forks a process per connection, direct has no middle
    std::function<boost::asio::awaitable<std::vector<figure>>(run_context&)> run;
};

// Every scenario with a fixed name, in run order. The trickle scenarios come after them, one per
// rate: "trickle200" is a 200/s trickle (made on first use).
std::vector<scenario> const& all_scenarios();
// Expands a --scenario value (a name or a group: throughput, latency, cpu, all; "trickle" is one
// scenario per rate in trickle_rates); empty if unknown.
std::vector<std::string> expand_scenario(std::string const& name, std::vector<unsigned> const& trickle_rates);
scenario const* find_scenario(std::string const& name);
// Where a scenario runs in a round: its place in all_scenarios(), the trickles after every one.
std::size_t run_order(std::string const& name);

// Echoes per second a trickle may ask for.
constexpr unsigned max_trickle_rate = 50000;

// Scenario entry points (one file each).
boost::asio::awaitable<std::vector<figure>> run_throughput(run_context& ctx, bool down, std::size_t streams);
boost::asio::awaitable<std::vector<figure>> run_latency(run_context& ctx, std::size_t connections);
boost::asio::awaitable<std::vector<figure>> run_connection_rate(run_context& ctx);
boost::asio::awaitable<std::vector<figure>> run_idle(run_context& ctx);
boost::asio::awaitable<std::vector<figure>> run_udp(run_context& ctx, std::size_t flows);
boost::asio::awaitable<std::vector<figure>> run_trickle(run_context& ctx, unsigned rate);

}  // namespace bench
