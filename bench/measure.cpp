#include "measure.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <stdexcept>

#include "child_process.hpp"
#include "relay.hpp"
#include "tunnel_driver.hpp"

namespace bench {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_tuple);
}

// CPU seconds of the processes, once their forked children (socat) have gone, bounded.
asio::awaitable<double> settled_cpu(std::vector<pid_t> pids) {
    auto const deadline = clock_type::now() + 3s;
    for (;;) {
        bool children = false;
        for (pid_t pid : pids) children = children || !children_of(pid).empty();
        if (!children || clock_type::now() >= deadline) break;
        co_await pause(5ms);
    }
    co_return tree_cpu_seconds(pids);
}

// Runs the scenario; after opt.timeout the transport is aborted so that every wait returns.
asio::awaitable<std::string> run_guarded(run_context& ctx, scenario const& sc, std::vector<figure>& out) {
    struct guard_state {
        bool done = false;
        bool fired = false;
    };
    auto state = std::make_shared<guard_state>();
    asio::steady_timer watchdog(co_await asio::this_coro::executor, ctx.deadline);
    transport* net = &ctx.net;
    watchdog.async_wait([state, net](boost::system::error_code ec) {
        if (ec || state->done) return;
        state->fired = true;
        net->abort();
    });
    std::string error;
    try {
        out = co_await sc.run(ctx);
    } catch (std::exception const& e) {
        error = e.what();
    }
    state->done = true;
    watchdog.cancel();
    if (state->fired)
        error = "timed out after " + std::to_string(ctx.opt.timeout.count()) + " s (" + error + ")";
    co_return error;
}

// The tunnel of the client just started: the next handshake for container `id`, unless the process
// dies or the limit passes first.
asio::awaitable<std::shared_ptr<tunnel::runner::tunnel_peer>> accept_client(bench_env& env,
                                                                            child_process& proc,
                                                                            std::string const& id) {
    auto const deadline = clock_type::now() + 10s;
    auto watch_exit = [&]() -> asio::awaitable<void> {
        while (!proc.poll_exit() && clock_type::now() < deadline) co_await pause(10ms);
    };
    for (;;) {
        auto raced = co_await (env.listener.accept() || watch_exit());
        if (raced.index() == 1) {
            auto const code = proc.poll_exit();
            throw std::runtime_error(code ? "the client exited with status " + std::to_string(*code) +
                                                " before connecting: " + proc.log_tail(600)
                                          : "the client did not connect within 10 s");
        }
        auto peer = std::get<0>(raced);
        if (!peer) throw std::runtime_error("the tunnel listener closed");
        if (peer->container_id() == id) co_return peer;
        peer->abort();  // a stray client from an earlier run: not ours
    }
}

}  // namespace

asio::awaitable<measurement> measure(bench_env& env, target const& t, scenario const& sc, unsigned round) {
    measurement m;
    m.target = t.label;
    m.scenario = sc.name;
    m.round = round;
    auto const started = clock_type::now();
    auto ex = env.executor;
    auto const deadline = [&] { return clock_type::now() + env.opt.timeout; };

    if (t.kind == target_kind::direct) {
        auto net = make_tcp_transport(ex, [&](service s) { return env.svc.port(s); });
        run_context ctx{*net, env.svc, env.opt, t.kind, {}, {}, deadline()};
        m.error = co_await run_guarded(ctx, sc, m.figures);
    } else if (t.kind == target_kind::relay) {
        relay r(env.svc, sc.needs);
        try {
            co_await r.wait_ready(5s);
        } catch (std::exception const& e) {
            m.error = e.what();
        }
        if (m.error.empty()) {
            auto net = make_tcp_transport(ex, [&](service s) { return r.port(s); });
            auto pids = r.pids();
            run_context ctx{*net,      env.svc, env.opt, t.kind, pids, [pids] { return settled_cpu(pids); },
                            deadline()};
            m.error = co_await run_guarded(ctx, sc, m.figures);
        }
        co_await r.stop();
        if (!m.error.empty() || env.opt.keep_logs) r.keep_logs();
    } else {
        // The harness's pid in it: a client refuses to start while another runs for the same id.
        std::string const id = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(++env.sequence);
        auto argv = split_command(t.command);
        std::string const scheme = env.opt.tls ? "wss" : "ws";
        for (auto const& extra :
             {std::string("--runner-url"), scheme + "://127.0.0.1:" + std::to_string(env.listener.port()),
              std::string("--container-id"), id})
            argv.push_back(extra);
        // SSL_CERT_FILE is OpenSSL's own variable: any OpenSSL-based client that uses the default
        // trust store reads it, so every client verifies the harness's certificate the same way.
        std::vector<std::string> env_vars;
        if (!env.ca_file.empty()) env_vars.push_back("SSL_CERT_FILE=" + env.ca_file);
        child_process proc(argv, "client", env_vars);
        std::shared_ptr<tunnel_driver> driver;
        try {
            auto peer = co_await accept_client(env, proc, id);
            peer->set_no_delay(true);  // as the real runner (asyncio sets TCP_NODELAY): no Nagle delays
            driver = std::make_shared<tunnel_driver>(ex, peer);
            driver->start();
        } catch (std::exception const& e) {
            m.error = e.what();
        }
        if (driver) {
            auto net = make_tunnel_transport(driver, env.svc);
            std::vector<pid_t> pids{proc.pid()};
            run_context ctx{*net,      env.svc, env.opt, t.kind, pids, [pids] { return settled_cpu(pids); },
                            deadline()};
            m.error = co_await run_guarded(ctx, sc, m.figures);
        }
        // A polite stop: the client closes its tunnel (the driver answers) and exits 0.
        m.client_exit = co_await proc.stop(3s);
        if (driver) co_await driver->finished(2s);
        if (!m.error.empty() || (m.client_exit && *m.client_exit != 0) || env.opt.keep_logs) {
            proc.keep_log();
            m.log_path = proc.log_path();
        }
    }
    if (m.error.empty() && m.figures.empty()) m.error = "the scenario produced no figure";
    for (auto const& f : m.figures)
        if (m.error.empty() && !std::isfinite(f.value)) m.error = f.id + " is not a finite number";
    if (!m.error.empty()) m.figures.clear();
    m.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    co_return m;
}

}  // namespace bench
