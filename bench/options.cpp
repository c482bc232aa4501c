#include "options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/parse.hpp"
#include "scenarios/scenario.hpp"

namespace bench {

namespace po = boost::program_options;

namespace {

int fail(std::string const& what) {
    std::cerr << tunnel::cli::usage_error_text("tunnel-bench", what);
    return 2;
}

// "200,2000" -> {200, 2000} (repeats dropped); nullopt for anything else.
std::optional<std::vector<unsigned>> parse_rates(std::string const& text) {
    std::vector<unsigned> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t const comma = std::min(text.find(',', start), text.size());
        auto const rate = tunnel::cli::parse_count(text.substr(start, comma - start));
        if (!rate || *rate == 0 || *rate > max_trickle_rate) return std::nullopt;
        if (std::find(out.begin(), out.end(), *rate) == out.end())
            out.push_back(static_cast<unsigned>(*rate));
        if (comma == text.size()) return out;
        start = comma + 1;
    }
}

}  // namespace

parse_result parse_options(int argc, char** argv) {
    po::options_description desc(
        "tunnel-bench: measures tunnel clients against a direct path and a socat relay, on loopback.\n"
        "It plays the runner (WebSocket server) and the container's services, and appends\n"
        "'--runner-url ws://127.0.0.1:PORT --container-id ID' to each client command line.\n\nOptions");
    desc.add_options()("help,h", "show this help")(
        "client", po::value<std::vector<std::string>>()->composing(),
        "a tunnel client command line (split on spaces); repeat to compare clients in alternating rounds")(
        "scenario", po::value<std::vector<std::string>>()->composing(),
        "a scenario or group to run (repeatable; default all): down1 down8 up1 up8 latency1 latency32 "
        "connrate idle udp udp8 trickle (one run per --trickle-rates entry, or trickleN for N/s); "
        "groups: throughput (= cpu), latency, all")(
        "rounds", po::value<unsigned>(), "rounds; every figure is the median over rounds (default 3)")(
        "bytes", po::value<std::string>(), "bytes per throughput run, K/M/G suffixes (default 256M)")(
        "idle", po::value<std::size_t>(), "idle connections to hold (default 10000)")(
        "requests", po::value<std::size_t>(), "latency: measured round trips per run (default 20000)")(
        "cycles", po::value<std::size_t>(), "connection rate: cycles per run (default 20000)")(
        "datagrams", po::value<std::size_t>(), "UDP: datagrams per run (default 50000)")(
        "udp-window", po::value<std::size_t>(),
        "UDP: datagrams in flight, shared between the flows (default 64)")(
        "trickle-rates", po::value<std::string>(),
        "trickle: echoes per second, comma-separated, a run each (default 200,2000)")(
        "trickle-seconds", po::value<std::string>(), "trickle: seconds per run (default 10; --smoke 0.25)")(
        "tls",
        "clients connect with wss:// to a certificate made at start; its CA reaches them as SSL_CERT_FILE")(
        "timeout", po::value<unsigned>(), "seconds a single run may take before it fails (default 120)")(
        "no-direct", "skip the direct baseline")("no-relay", "skip the socat relay baseline")(
        "smoke", "tiny sizes and 1 round: every scenario once, in seconds (for ctest)")(
        "json", po::value<std::string>(), "also write every sample and the medians to this JSON file")(
        "keep-logs", "keep the clients' and socat's logs in /tmp (failed runs always keep them)");

    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (po::error const& e) {
        return {std::nullopt, fail(e.what())};
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return {std::nullopt, 0};
    }

    bench_options o;
    for (int i = 0; i < argc; ++i) {
        if (i > 0) o.command_line += ' ';
        o.command_line += argv[i];
    }
    o.smoke = vm.count("smoke") > 0;
    if (o.smoke) {
        o.rounds = 1;
        o.bytes = 4u << 20;
        o.idle = 200;
        o.requests = 200;
        o.cycles = 200;
        o.datagrams = 1000;
        o.trickle_seconds = 0.25;
        o.timeout = std::chrono::seconds(30);
    }
    if (vm.count("client")) o.clients = vm["client"].as<std::vector<std::string>>();
    for (auto const& c : o.clients)
        if (c.find_first_not_of(' ') == std::string::npos) return {std::nullopt, fail("empty --client")};
    if (vm.count("rounds")) o.rounds = vm["rounds"].as<unsigned>();
    if (o.rounds == 0) return {std::nullopt, fail("--rounds must be at least 1")};
    if (vm.count("bytes")) {
        auto n = tunnel::cli::parse_size(vm["bytes"].as<std::string>());
        if (!n || *n < 64 * 1024)
            return {std::nullopt, fail("invalid --bytes: expected a size of at least 64K")};
        o.bytes = *n;
    }
    auto count = [&](char const* name, std::size_t& out) {
        if (!vm.count(name)) return true;
        out = vm[name].as<std::size_t>();
        return out > 0;
    };
    for (auto [name, field] : {std::pair<char const*, std::size_t*>{"idle", &o.idle},
                               {"requests", &o.requests},
                               {"cycles", &o.cycles},
                               {"datagrams", &o.datagrams},
                               {"udp-window", &o.udp_window}})
        if (!count(name, *field))
            return {std::nullopt, fail(std::string("--") + name + " must be at least 1")};
    if (vm.count("timeout")) o.timeout = std::chrono::seconds(vm["timeout"].as<unsigned>());
    if (vm.count("trickle-rates")) {
        auto rates = parse_rates(vm["trickle-rates"].as<std::string>());
        if (!rates)
            return {std::nullopt,
                    fail("invalid --trickle-rates: expected echoes per second from 1 to " +
                         std::to_string(max_trickle_rate) + ", comma-separated (e.g. 200,2000)")};
        o.trickle_rates = *rates;
    }
    if (vm.count("trickle-seconds")) {
        auto const length = tunnel::cli::parse_seconds(vm["trickle-seconds"].as<std::string>());
        if (!length || *length < std::chrono::milliseconds(10) || *length > std::chrono::hours(1))
            return {std::nullopt, fail("invalid --trickle-seconds: expected seconds from 0.01 to 3600")};
        o.trickle_seconds = std::chrono::duration<double>(*length).count();
    }
    o.tls = vm.count("tls") > 0;
    o.direct = vm.count("no-direct") == 0;
    o.relay = vm.count("no-relay") == 0;
    o.keep_logs = vm.count("keep-logs") > 0;
    if (vm.count("json")) o.json_path = vm["json"].as<std::string>();

    std::vector<std::string> wanted{"all"};
    if (vm.count("scenario")) wanted = vm["scenario"].as<std::vector<std::string>>();
    for (auto const& name : wanted) {
        auto expanded = expand_scenario(name, o.trickle_rates);
        if (expanded.empty()) return {std::nullopt, fail("unknown --scenario '" + name + "'")};
        for (auto& s : expanded)
            if (std::find(o.scenarios.begin(), o.scenarios.end(), s) == o.scenarios.end())
                o.scenarios.push_back(s);
    }
    // Run order is the registry's, whatever the order on the command line (trickle rates as given).
    std::stable_sort(o.scenarios.begin(), o.scenarios.end(),
                     [](std::string const& a, std::string const& b) { return run_order(a) < run_order(b); });
    bool const trickles = std::any_of(o.scenarios.begin(), o.scenarios.end(),
                                      [](std::string const& s) { return s.rfind("trickle", 0) == 0; });
    if (trickles && o.trickle_seconds + 10 > static_cast<double>(o.timeout.count()))
        return {std::nullopt, fail("--timeout must exceed --trickle-seconds by at least 10 s")};
    if (o.clients.empty() && !o.direct && !o.relay) return {std::nullopt, fail("nothing to measure")};
    return {o, 0};
}

}  // namespace bench
