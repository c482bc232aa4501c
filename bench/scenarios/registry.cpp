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

std::vector<std::string> expand_scenario(std::string const& name) {
    if (name == "all") {
        std::vector<std::string> out;
        for (auto const& s : all_scenarios()) out.push_back(s.name);
        return out;
    }
    if (name == "throughput" || name == "cpu") return {"down1", "down8", "up1", "up8"};
    if (name == "latency") return {"latency1", "latency32"};
    if (find_scenario(name)) return {name};
    return {};
}

scenario const* find_scenario(std::string const& name) {
    for (auto const& s : all_scenarios())
        if (s.name == name) return &s;
    return nullptr;
}

}  // namespace bench
