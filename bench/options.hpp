#pragma once
// The harness's command line, as a plain struct.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct bench_options {
    std::vector<std::string> clients;    // command lines, split on spaces when run
    std::vector<std::string> scenarios;  // resolved scenario names, in run order
    unsigned rounds = 3;
    std::size_t bytes = 256u << 20;     // per throughput run (all streams together)
    std::size_t idle = 10000;           // idle connections held
    std::size_t requests = 20000;       // latency: measured request/response pairs per run
    std::size_t cycles = 20000;         // connection rate: cycles per run
    std::size_t datagrams = 50000;      // UDP: datagrams sent per run
    std::size_t udp_window = 64;        // UDP: datagrams in flight
    std::chrono::seconds timeout{120};  // a single run longer than this fails (watchdog)

    std::vector<unsigned> trickle_rates{200, 2000};  // trickle: echoes per second, one run each
    double trickle_seconds = 10;                     // trickle: length of each run
    bool tls = false;  // clients connect with wss:// to a certificate made at start

    bool direct = true;
    bool relay = true;
    bool smoke = false;
    bool keep_logs = false;
    std::string json_path;
    std::string command_line;  // how the harness was invoked, for the JSON
};

struct parse_result {
    std::optional<bench_options> options;  // nullopt: exit with `exit_code` (after printing)
    int exit_code = 0;
};

parse_result parse_options(int argc, char** argv);

}  // namespace bench
