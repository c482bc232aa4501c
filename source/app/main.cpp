// tunnel-client: parse options, claim this container id's control endpoint, then run the
// reconnect loop until a signal, a stop request or giving up. `status` and `health` only ask.

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <unistd.h>
#include <vector>

#include "app/commands.hpp"
#include "app/event_loop.hpp"
#include "app/options.hpp"
#include "cli/parse.hpp"
#include "control/endpoint.hpp"
#include "control/instance.hpp"
#include "control/server.hpp"
#include "log/logging.hpp"
#include "tunnel/client.hpp"
#include "tunnel/memory_budget.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
    if (auto const code = tunnel::app::run_command(argc, argv, std::cout, std::cerr)) return *code;
    auto const parsed = tunnel::app::parse_options(argc, argv);
    if (!parsed.config) {
        (parsed.to_stderr ? std::cerr : std::cout) << parsed.message << std::flush;
        return parsed.exit_code;
    }
    auto cfg = *parsed.config;
    tunnel::init_logging(cfg.level, cfg.format);
    if (cfg.log_file) {
        if (auto const error = tunnel::log_to_file(*cfg.log_file); !error.empty()) {
            std::cerr << tunnel::cli::usage_error_text("tunnel-client", error) << std::flush;
            return 2;
        }
    }
    if (!cfg.session_buffer_given) {
        auto const limit = tunnel::find_memory_limit();
        cfg.client.session_buffer = std::max(
            tunnel::session_buffer_for(limit ? std::optional<std::size_t>(limit->bytes) : std::nullopt),
            cfg.client.conn_buffer);
        if (limit)
            tunnel::log_debug("session buffer from the memory limit", {{"limit", limit->bytes},
                                                                       {"source", limit->source},
                                                                       {"session_buffer", cfg.client.session_buffer}});
        else
            tunnel::log_debug("no memory limit found", {{"session_buffer", cfg.client.session_buffer}});
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);  // a file size limit is a full disk for the log, not an end

    // TLS files and the CA source are checked once, before anything is dialled: a bad one is a
    // usage error like a bad flag.
    auto dial = tunnel::dial_options_for(cfg.client);
    if (auto const* error = std::get_if<std::string>(&dial)) {
        tunnel::flush_log();  // the log lines so far come before the error
        std::cerr << tunnel::cli::usage_error_text("tunnel-client", *error) << std::flush;
        return 2;
    }

    // One client per container id: the control endpoint's name is the claim.
    auto const endpoint = tunnel::control::endpoint_name(cfg.client.container_id);
    tunnel::control::claim_options claim_opts;
    claim_opts.replace = cfg.replace;
    auto claim = tunnel::control::claim_endpoint(endpoint, claim_opts);
    if (auto const* other = std::get_if<tunnel::control::held_by_other>(&claim)) {
        tunnel::flush_log();
        std::cerr << "tunnel-client: another tunnel-client"
                  << (other->pid ? " (pid " + std::to_string(other->pid) + ")" : std::string())
                  << " already runs for container " << cfg.client.container_id;
        if (!other->detail.empty()) std::cerr << " (" << other->detail << ")";
        std::cerr << (cfg.replace ? "\n" : "; give --replace to take over\n") << std::flush;
        return 4;
    }
    if (auto const* failed = std::get_if<tunnel::control::claim_failed>(&claim))
        tunnel::log_warn("running without a control endpoint (status, health and the one-instance check are off)",
                         {{"reason", failed->reason}});

    asio::io_context ioc(static_cast<int>(cfg.client.threads));
    tunnel::client client(ioc.get_executor(), cfg.client, std::get<0>(std::move(dial)));

    // SIGINT/SIGTERM: polite shutdown, bounded by a hard deadline; a second signal exits at once.
    // The signal handler and the end of run() touch the same objects: both run on one strand.
    auto const control = asio::make_strand(ioc);
    asio::signal_set signals(control, SIGINT, SIGTERM);
    asio::steady_timer hard_deadline(control);
    int exit_code = 0;
    bool shutting_down = false;
    bool forced = false;
    auto begin_shutdown = [&] {
        shutting_down = true;
        client.stop();
        hard_deadline.expires_after(std::chrono::milliseconds(1500));
        hard_deadline.async_wait([&](boost::system::error_code tec) {
            if (tec) return;
            tunnel::log_warn("shutdown took too long: exiting");
            forced = true;
            ioc.stop();
        });
    };
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                        int sig) {
        if (ec) return;
        if (shutting_down) {
            tunnel::log_warn("second signal: exiting now", {{"signal", sig}});
            forced = true;
            ioc.stop();
            return;
        }
        tunnel::log_info("shutting down", {{"signal", sig}});
        begin_shutdown();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    // SIGHUP: reopen the log file (after logrotate moved it away); never the default (exit).
    asio::signal_set hangup(control, SIGHUP);
    std::function<void(boost::system::error_code, int)> on_hangup = [&](boost::system::error_code ec, int) {
        if (ec) return;
        if (cfg.log_file) {
            tunnel::reopen_log_file();
            tunnel::log_info("log file reopened", {{"path", cfg.log_file->path}});
        }
        hangup.async_wait(on_hangup);
    };
    hangup.async_wait(on_hangup);

    // The control endpoint: status and health, and "stop" from a client started with --replace.
    std::unique_ptr<tunnel::control::server> control_server;
    if (auto const* mine = std::get_if<tunnel::control::claimed>(&claim)) {
        tunnel::control::identity who{static_cast<long>(::getpid()), TUNNEL_VERSION, cfg.client.container_id,
                                      cfg.client.endpoint.url()};
        control_server = std::make_unique<tunnel::control::server>(
            ioc.get_executor(), mine->fd, std::move(who), client.board(), [&] {
                asio::post(control, [&] {
                    if (shutting_down) return;
                    tunnel::log_info("shutting down", {{"reason", "asked to stop by another tunnel-client"}});
                    begin_shutdown();
                });
            });
        control_server->start();
    }

    tunnel::log_info("tunnel-client starting",
                     {{"version", TUNNEL_VERSION},
                      {"container_id", cfg.client.container_id},
                      {"runner", cfg.client.endpoint.url()},
                      {"control", control_server ? tunnel::control::display_name(endpoint) : std::string("off")}});
    asio::co_spawn(client.executor(), client.run(), asio::bind_executor(control, [&](std::exception_ptr e, int code) {
        exit_code = code;
        if (e) {
            exit_code = 1;
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& x) {
                tunnel::log_error("fatal error", {{"reason", x.what()}});
            }
        }
        boost::system::error_code ignored;
        signals.cancel(ignored);
        hangup.cancel(ignored);
        hard_deadline.cancel();
        if (control_server) control_server->close();
    }));

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < cfg.client.threads; ++i)
        workers.emplace_back([&] { tunnel::app::run_event_loop(ioc, cfg.busy_poll); });
    tunnel::app::run_event_loop(ioc, cfg.busy_poll);
    ioc.stop();
    for (auto& t : workers) t.join();
    tunnel::stop_logging();  // what waits is written
    // A forced stop may leave a DNS lookup running in the resolver thread, which the io_context
    // destructor would join: leave without waiting (the log is written out above).
    if (forced) std::_Exit(exit_code);
    return exit_code;
}
