// tunnel-client: parse options, then run the reconnect loop until a signal or giving up.

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "app/options.hpp"
#include "cli/parse.hpp"
#include "log/logging.hpp"
#include "tunnel/client.hpp"
#include "tunnel/memory_budget.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
    auto const parsed =
        tunnel::app::parse_options(argc, argv, [](char const* name) { return std::getenv(name); });
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

    // TLS files and the CA source are checked once, before anything is dialled: a bad one is a
    // usage error like a bad flag.
    auto dial = tunnel::dial_options_for(cfg.client);
    if (auto const* error = std::get_if<std::string>(&dial)) {
        std::cerr << tunnel::cli::usage_error_text("tunnel-client", *error) << std::flush;
        return 2;
    }

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
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                        int sig) {
        if (ec) return;
        if (shutting_down) {
            tunnel::log_warn("second signal: exiting now", {{"signal", sig}});
            forced = true;
            ioc.stop();
            return;
        }
        shutting_down = true;
        tunnel::log_info("shutting down", {{"signal", sig}});
        client.stop();
        hard_deadline.expires_after(std::chrono::milliseconds(1500));
        hard_deadline.async_wait([&](boost::system::error_code tec) {
            if (tec) return;
            tunnel::log_warn("shutdown took too long: exiting");
            forced = true;
            ioc.stop();
        });
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

    tunnel::log_info("tunnel-client starting", {{"version", TUNNEL_VERSION},
                                                {"container_id", cfg.client.container_id},
                                                {"runner", cfg.client.endpoint.url()}});
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
    }));

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < cfg.client.threads; ++i) workers.emplace_back([&] { ioc.run(); });
    ioc.run();
    ioc.stop();
    for (auto& t : workers) t.join();
    // A forced stop may leave a DNS lookup running in the resolver thread, which the io_context
    // destructor would join: leave without waiting (logs are flushed line by line).
    if (forced) std::_Exit(exit_code);
    return exit_code;
}
