// The shipped supervisord program (packaging/supervisord/tunnel-client.conf) under Debian's real
// supervisord: started, stopped politely (close frame 1001, reported as stopped), restarted after
// kill -9, and restarted after giving up (exit 1); a client started by hand for the same container
// gives way to the supervised one. Only paths, the runner URL and the container id are adapted.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <unistd.h>

#include "harness.hpp"

using namespace tunnel;
using namespace tunnel::test;
using namespace boost::asio::experimental::awaitable_operators;
namespace fs = std::filesystem;

namespace {

constexpr char const* supervisord_path = "/usr/bin/supervisord";
constexpr char const* supervisorctl_path = "/usr/bin/supervisorctl";

std::size_t count_of(std::string const& text, std::string const& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// The shipped program section, renamed `name`, with the binary, the runner URL, the container id,
// the log file and extra flags adapted for this machine; every other line as shipped.
std::string adapted_program(std::string const& name, std::string const& url, std::string const& extra_flags,
                            std::string const& dir, std::string const& container_id = "c1") {
    std::istringstream shipped(read_file(std::string(TUNNEL_SOURCE_DIR) + "/packaging/supervisord/tunnel-client.conf"));
    std::string out, line;
    while (std::getline(shipped, line)) {
        if (line.rfind("[program:", 0) == 0) {
            line = "[program:" + name + "]";
        } else if (line.rfind("command=", 0) == 0) {
            auto const rest = line.substr(line.find(' '));  // the shipped flags
            line = "command=" + client_path() + rest + " " + extra_flags;
        } else if (line.rfind("environment=", 0) == 0) {
            line = "environment=KOHAKURIVER_TUNNEL_URL=\"" + url + "\",KOHAKURIVER_CONTAINER_ID=\"" + container_id + "\"";
        } else if (line.rfind("stdout_logfile=", 0) == 0) {
            line = "stdout_logfile=" + dir + "/" + name + ".log";
        }
        out += line + "\n";
    }
    return out;
}

// supervisord in the foreground with a configuration of its own in a temporary directory.
class supervisor {
public:
    // programs: the [program:...] sections, given the directory for their log files.
    explicit supervisor(std::function<std::string(std::string const& dir)> programs) {
        char tmpl[] = "/tmp/tunnel-supervisord-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        conf_ = dir_ + "/supervisord.conf";
        std::ofstream(conf_) << "[unix_http_server]\nfile=" << dir_ << "/supervisor.sock\n\n"
                             << "[supervisord]\nlogfile=" << dir_ << "/supervisord.log\npidfile=" << dir_
                             << "/supervisord.pid\nchildlogdir=" << dir_ << "\nloglevel=info\n\n"
                             << "[rpcinterface:supervisor]\n"
                             << "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
                             << "[supervisorctl]\nserverurl=unix://" << dir_ << "/supervisor.sock\n\n"
                             << programs(dir_);
        daemon_ = client_process::run_program(supervisord_path, {"-n", "-c", conf_});
    }
    ~supervisor() {
        // TERM stops every program first; then the daemon goes.
        daemon_->send_signal(SIGTERM);
        daemon_->wait_exit_blocking(std::chrono::seconds(15));
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    std::string const& dir() const { return dir_; }
    std::string log() const { return read_file(dir_ + "/supervisord.log"); }

    // supervisorctl COMMAND PROGRAM, waited for (without blocking the io_context); its output.
    asio::awaitable<std::string> ctl(std::string command, std::string program) {
        std::vector<std::string> args{"-c", conf_, std::move(command), std::move(program)};
        auto p = client_process::run_program(supervisorctl_path, args);
        co_await wait_until([&] { return p->poll_exit().has_value(); }, 20s, "supervisorctl to finish");
        co_return p->log();
    }

private:
    std::string dir_;
    std::string conf_;
    std::unique_ptr<client_process> daemon_;
};

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Reads until the client ends the tunnel; fails after limit.
asio::awaitable<void> until_end(runner::tunnel_peer& peer, std::chrono::milliseconds limit) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
        auto raced = co_await (peer.receive() || timer.async_wait(use_tuple));
        if (raced.index() == 1) throw std::runtime_error("the tunnel did not end");
        if (!std::get<0>(raced)) co_return;
    }
}

bool supervisor_available() { return ::access(supervisord_path, X_OK) == 0 && ::access(supervisorctl_path, X_OK) == 0; }

boost::test_tools::assertion_result supervisor_installed(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result r(supervisor_available());
    if (!r) r.message() << "Debian's supervisor is not installed (packaging/setup.sh installs it)";
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(supervisord)

BOOST_AUTO_TEST_CASE(the_shipped_program_starts_stops_politely_and_is_restarted,
                     *boost::unit_test::precondition(supervisor_installed)) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    auto const url = "ws://127.0.0.1:" + std::to_string(listener.port());
    // A second copy of the program that gives up (exit 1) against a runner that is not there.
    auto const dead = "ws://127.0.0.1:" + std::to_string(unused_tcp_port());
    supervisor sup([&](std::string const& dir) {
        return adapted_program("tunnel-client", url, "", dir) + "\n" +
               adapted_program("giving-up", dead, "--max-reconnect 3 --reconnect-delay 0.5", dir, "c2");
    });
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            // autostart: the tunnel comes up.
            auto first = co_await accept_peer(listener, 15s);
            // RUNNING once it has lived startsecs (1 s).
            std::string status;
            auto const deadline = std::chrono::steady_clock::now() + 10s;
            while (status.find("RUNNING") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
                status = co_await sup.ctl(std::string("status"), std::string("tunnel-client"));
                if (status.find("RUNNING") == std::string::npos) co_await pause(100ms);  // paces the polling
            }
            BOOST_TEST(status.find("RUNNING") != std::string::npos, status);

            // stop: SIGTERM, a close frame "going away", exit 0, reported as stopped.
            auto stopped = co_await sup.ctl(std::string("stop"), std::string("tunnel-client"));
            BOOST_TEST(stopped.find("stopped") != std::string::npos, stopped);
            co_await until_end(*first, 5s);
            BOOST_TEST(first->peer_close_code() == 1001u);
            status = co_await sup.ctl(std::string("status"), std::string("tunnel-client"));
            BOOST_TEST(status.find("STOPPED") != std::string::npos, status);
            BOOST_TEST(sup.log().find("stopped: tunnel-client (exit status 0)") != std::string::npos, sup.log());

            // start again, then kill -9: supervisord brings it back, and the tunnel with it.
            co_await sup.ctl(std::string("start"), std::string("tunnel-client"));
            auto second = co_await accept_peer(listener, 15s);
            auto const pid_text = co_await sup.ctl(std::string("pid"), std::string("tunnel-client"));
            pid_t const pid = static_cast<pid_t>(std::stol(pid_text));
            BOOST_REQUIRE(pid > 1);
            ::kill(pid, SIGKILL);
            auto third = co_await accept_peer(listener, 15s);
            BOOST_TEST(sup.log().find("exited: tunnel-client (terminated by SIGKILL; not expected)") !=
                           std::string::npos,
                       sup.log());

            // The copy that gives up exits 1, which the shipped config does not expect: restarted.
            co_await wait_until(
                [&] { return count_of(sup.log(), "exited: giving-up (exit status 1; not expected)") >= 2; }, 20s,
                "the giving-up program to exit 1 twice");
            BOOST_TEST(count_of(sup.log(), "spawned: 'giving-up'") >= 2u, sup.log());
        },
        90s);
}

BOOST_AUTO_TEST_CASE(a_client_started_by_hand_gives_way_to_the_supervised_one,
                     *boost::unit_test::precondition(supervisor_installed)) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    auto const url = "ws://127.0.0.1:" + std::to_string(listener.port());
    client_process by_hand(client_args(listener.port(), "c1"));
    std::unique_ptr<supervisor> sup;
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto manual = co_await accept_peer(listener, 15s);
            sup = std::make_unique<supervisor>(
                [&](std::string const& dir) { return adapted_program("tunnel-client", url, "", dir); });
            // The supervised one (--replace, as shipped) asks the other to stop: it exits 0 ...
            auto const code = co_await by_hand.wait_exit(15s);
            BOOST_REQUIRE(code.has_value());
            BOOST_TEST(*code == 0, by_hand.log());
            co_await until_end(*manual, 5s);
            BOOST_TEST(manual->peer_close_code() == 1001u);
            // ... and the supervised one carries the tunnel, RUNNING (not retried, not FATAL).
            auto supervised = co_await accept_peer(listener, 15s);
            BOOST_TEST(supervised->container_id() == "c1");
            std::string status;
            auto const deadline = std::chrono::steady_clock::now() + 10s;
            while (status.find("RUNNING") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
                status = co_await sup->ctl(std::string("status"), std::string("tunnel-client"));
                if (status.find("RUNNING") == std::string::npos) co_await pause(100ms);  // paces the polling
            }
            BOOST_TEST(status.find("RUNNING") != std::string::npos, status);
            BOOST_TEST(count_of(sup->log(), "spawned: 'tunnel-client'") == 1u, sup->log());
        },
        60s);
}

BOOST_AUTO_TEST_SUITE_END()
