#pragma once
// One measurement: one scenario, once, on one target. Sets the target up fresh (a new client
// process with its own tunnel, or new socat relays), runs the scenario under a watchdog, and tears
// everything down (SIGTERM, then SIGKILL) so that rounds do not leak into each other.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"
#include "runner/tunnel_listener.hpp"
#include "scenarios/scenario.hpp"
#include "services.hpp"

namespace bench {

struct target {
    std::string label;  // "direct", "relay", "client" (or "A", "B", ... for several clients)
    target_kind kind;
    std::string command;  // the client command line as given (clients only)
};

struct measurement {
    std::string target;
    std::string scenario;
    unsigned round = 0;
    std::vector<figure> figures;
    std::string error;               // non-empty: the run failed
    std::optional<int> client_exit;  // clients: exit status after SIGTERM (0 expected)
    std::string log_path;            // kept when something went wrong
    double seconds = 0;              // wall time of the whole measurement, set-up included
};

struct bench_env {
    boost::asio::any_io_executor executor;
    services& svc;
    tunnel::runner::tunnel_listener& listener;
    bench_options const& opt;
    std::string ca_file;    // --tls: the CA clients must trust (given to them as SSL_CERT_FILE)
    unsigned sequence = 0;  // container ids: bench-PID-1, bench-PID-2, ...
};

boost::asio::awaitable<measurement> measure(bench_env& env, target const& t, scenario const& sc,
                                            unsigned round);

}  // namespace bench
