// tunnel-bench: plays the runner and the container's services on loopback and measures tunnel
// clients against a direct path and a socat relay, in alternating runs. See bench/README.md.

#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "log/logging.hpp"
#include "child_process.hpp"
#include "measure.hpp"
#include "options.hpp"
#include "relay.hpp"
#include "report.hpp"
#include "runner/tunnel_listener.hpp"
#include "services.hpp"
#include "tls_identity.hpp"

namespace asio = boost::asio;
using namespace bench;

namespace {

extern "C" void on_fatal_signal(int sig) {
    kill_all_children();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

std::string summarize(measurement const& m) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(2);
    if (!m.error.empty()) return "FAILED: " + m.error;
    for (std::size_t i = 0; i < m.figures.size(); ++i) {
        auto const& f = m.figures[i];
        out << (i ? ", " : "") << f.value << " " << f.unit;
    }
    return out.str();
}

asio::awaitable<void> run_bench(bench_env& env, bench_report& report) {
    std::size_t const total = report.opt.rounds * report.opt.scenarios.size() * report.targets.size();
    std::size_t done = 0;
    for (unsigned round = 1; round <= report.opt.rounds; ++round)
        for (auto const& name : report.opt.scenarios) {
            auto const& sc = *find_scenario(name);
            for (auto const& t : report.targets) {
                ++done;
                if (sc.tunnel_only && t.kind != target_kind::client) continue;
                auto m = co_await measure(env, t, sc, round);
                std::cerr << "[" << done << "/" << total << "] round " << round << " " << std::left
                          << std::setw(9) << name << " " << std::setw(7) << t.label << " " << summarize(m)
                          << "  (" << std::fixed << std::setprecision(1) << m.seconds << " s)";
                if (m.client_exit && *m.client_exit != 0) std::cerr << "  client exit " << *m.client_exit;
                if (!m.log_path.empty()) std::cerr << "  log " << m.log_path;
                std::cerr << std::endl;
                report.measurements.push_back(std::move(m));
            }
        }
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = parse_options(argc, argv);
    if (!parsed.options) return parsed.exit_code;
    bench_options const& opt = *parsed.options;

    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGINT, on_fatal_signal);
    ::signal(SIGTERM, on_fatal_signal);
    unsigned long const fd_limit = raise_fd_limit();
    tunnel::init_logging(tunnel::log_level::warn, tunnel::log_format::text);  // the runner emulator's logs

    bench_report report{describe_machine(), opt, {}, {}, {}, {}};
    if (opt.direct) report.targets.push_back({"direct", target_kind::direct, ""});
    if (opt.relay) {
        if (program_exists("socat")) {
            report.targets.push_back({"relay", target_kind::relay, ""});
            report.relay_commands.push_back(
                "socat -b65536 TCP-LISTEN:P,bind=127.0.0.1,reuseaddr,fork,backlog=4096 "
                "TCP:127.0.0.1:SVC");
            report.relay_commands.push_back(
                "socat -b65536 UDP-LISTEN:P,bind=127.0.0.1,fork,reuseaddr UDP:127.0.0.1:SVC");
        } else {
            report.notes.push_back("relay baseline skipped: socat not found (Debian: apt-get install socat)");
        }
    }
    for (std::size_t i = 0; i < opt.clients.size(); ++i) {
        std::string const label =
            opt.clients.size() == 1 ? "client" : std::string(1, static_cast<char>('A' + i));
        report.targets.push_back({label, target_kind::client, opt.clients[i]});
    }
    bool const wants_idle =
        std::find(opt.scenarios.begin(), opt.scenarios.end(), "idle") != opt.scenarios.end();
    if (wants_idle && !opt.clients.empty()) {
        report.notes.push_back(
            "idle is measured for tunnel clients only: the relay forks a process per connection "
            "and direct has nothing in between");
        if (fd_limit < opt.idle + 256)
            report.notes.push_back("RLIMIT_NOFILE is " + std::to_string(fd_limit) + ": too low for --idle " +
                                   std::to_string(opt.idle) +
                                   " (the harness holds one socket per connection)");
    }

    asio::io_context ioc(1);
    services svc(ioc.get_executor());
    svc.start();
    tunnel::runner::listener_options listener_opts;
    // No keepalive: a run never idles for long, and Beast would re-arm its idle timer on every read
    // (a timerfd_settime per UDP datagram in the harness). The real runner pings from a task of its own.
    listener_opts.keepalive_timeout = std::chrono::milliseconds(0);
    std::unique_ptr<tls_identity> tls;
    if (opt.tls) {
        try {
            tls = std::make_unique<tls_identity>();
        } catch (std::exception const& e) {
            std::cerr << "tunnel-bench: error: " << e.what() << "\n";
            return 1;
        }
        listener_opts.tls = tls->server_context();
    }
    tunnel::runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                                             listener_opts);
    bench_env env{ioc.get_executor(), svc, listener, opt, tls ? tls->ca_file() : std::string()};

    std::exception_ptr failure;
    bool finished = false;
    asio::co_spawn(ioc, run_bench(env, report), [&](std::exception_ptr e) {
        failure = e;
        finished = true;
        svc.stop();
        listener.close();
    });
    ioc.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (std::exception const& e) {
            std::cerr << "tunnel-bench: error: " << e.what() << "\n";
        }
        kill_all_children();
        return 1;
    }

    std::size_t failed = 0;
    // A client that always exits non-zero on SIGTERM would give a note per run: one per target and
    // status instead, with how many runs and the first run's log (the others are kept too).
    struct odd_exit {
        std::size_t runs = 0;
        std::string first;
    };
    std::map<std::pair<std::string, int>, odd_exit> odd_exits;
    std::map<std::string, std::size_t> completed;  // runs without an error, per target
    for (auto const& m : report.measurements) {
        if (!m.error.empty()) {
            ++failed;
            report.notes.push_back("round " + std::to_string(m.round) + " " + m.scenario + " " + m.target +
                                   " failed: " + m.error +
                                   (m.log_path.empty() ? "" : " (log " + m.log_path + ")"));
            continue;
        }
        ++completed[m.target];
        if (m.client_exit && *m.client_exit != 0) {
            auto& odd = odd_exits[{m.target, *m.client_exit}];
            if (odd.runs++ == 0)
                odd.first = "round " + std::to_string(m.round) + " " + m.scenario +
                            (m.log_path.empty() ? "" : ", log " + m.log_path);
        }
    }
    for (auto const& [key, odd] : odd_exits)
        report.notes.push_back(key.first + ": the client exited with status " + std::to_string(key.second) +
                               " after SIGTERM (expected 0) in " + std::to_string(odd.runs) + " of " +
                               std::to_string(completed[key.first]) + " runs (first: " + odd.first + ")");
    print_table(std::cout, report);
    if (!opt.json_path.empty()) {
        try {
            write_json(opt.json_path, report);
        } catch (std::exception const& e) {
            std::cerr << "tunnel-bench: error: " << e.what() << "\n";
            return 1;
        }
    }
    (void)finished;
    return failed == 0 ? 0 : 1;
}
