#include <map>

#include "cli/parse.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

std::vector<scenario> const& all_scenarios() {
    static std::vector<scenario> const list = [] {
        std::vector<scenario> out;
        auto throughput = [&](std::string name, bool down, std::size_t streams) {
            out.push_back({name,
                           std::string(down ? "runner -> client -> sink" : "source -> client -> runner") +
                               ", " + std::to_string(streams) + (streams == 1 ? " stream" : " streams") +
                               ": MiB/s and CPU s/GiB",
                           {down ? service::sink : service::source},
                           false,
                           [down, streams](run_context& ctx) { return run_throughput(ctx, down, streams); }});
        };
        throughput("down1", true, 1);
        throughput("down8", true, 8);
        throughput("up1", false, 1);
        throughput("up8", false, 8);
        out.push_back({"latency1",
                       "64 B request/response through the echo, 1 connection: p50/p99/p99.9 us",
                       {service::echo},
                       false,
                       [](run_context& ctx) { return run_latency(ctx, 1); }});
        out.push_back({"latency32",
                       "the same with 32 connections at once",
                       {service::echo},
                       false,
                       [](run_context& ctx) { return run_latency(ctx, 32); }});
        out.push_back({"connrate",
                       "CONNECT -> CONNECTED -> 64 B echo -> CLOSE cycles/s, 16 in flight",
                       {service::echo},
                       false,
                       [](run_context& ctx) { return run_connection_rate(ctx); }});
        out.push_back({"idle",
                       "hold N idle connections: client VmRSS/VmHWM, KiB per connection (clients only)",
                       {service::idle},
                       true,
                       [](run_context& ctx) { return run_idle(ctx); }});
        auto udp = [&](std::string name, std::string summary, std::size_t flows) {
            out.push_back(
                {std::move(name), std::move(summary), {service::udp_echo}, false, [flows](run_context& ctx) {
                     return run_udp(ctx, flows);
                 }});
        };
        udp("udp", "512 B datagrams through the UDP echo, bounded window: datagrams/s and loss %", 1);
        udp("udp8", "the same over 8 flows at once, the window shared between them", 8);
        return out;
    }();
    return list;
}

namespace {

// "trickle<N>" with N from 1 to max_trickle_rate, written without leading zeros: N, else 0.
unsigned trickle_rate_of(std::string const& name) {
    std::string const prefix = "trickle";
    if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size() || name[prefix.size()] == '0') return 0;
    auto const rate = tunnel::cli::parse_count(name.substr(prefix.size()));
    return rate && *rate <= max_trickle_rate ? static_cast<unsigned>(*rate) : 0;
}

scenario const& trickle_scenario(unsigned rate) {
    // Node-based: pointers handed out stay valid as more rates are added.
    static std::map<unsigned, scenario> made;
    auto it = made.find(rate);
    if (it == made.end())
        it = made.emplace(rate, scenario{"trickle" + std::to_string(rate),
                                         "64 B echoes at " + std::to_string(rate) +
                                             "/s on a fixed schedule, 1 connection: CPU % and p50/p99 us",
                                         {service::echo},
                                         false,
                                         [rate](run_context& ctx) { return run_trickle(ctx, rate); }})
                 .first;
    return it->second;
}

}  // namespace

std::vector<std::string> expand_scenario(std::string const& name,
                                         std::vector<unsigned> const& trickle_rates) {
    std::vector<std::string> trickles;
    for (unsigned rate : trickle_rates) trickles.push_back(trickle_scenario(rate).name);
    if (name == "all") {
        std::vector<std::string> out;
        for (auto const& s : all_scenarios()) out.push_back(s.name);
        out.insert(out.end(), trickles.begin(), trickles.end());
        return out;
    }
    if (name == "throughput" || name == "cpu") return {"down1", "down8", "up1", "up8"};
    if (name == "latency") return {"latency1", "latency32"};
    if (name == "trickle") return trickles;
    if (find_scenario(name)) return {name};
    return {};
}

scenario const* find_scenario(std::string const& name) {
    for (auto const& s : all_scenarios())
        if (s.name == name) return &s;
    if (unsigned const rate = trickle_rate_of(name)) return &trickle_scenario(rate);
    return nullptr;
}

std::size_t run_order(std::string const& name) {
    auto const& list = all_scenarios();
    for (std::size_t i = 0; i < list.size(); ++i)
        if (list[i].name == name) return i;
    return list.size();
}

}  // namespace bench
