// The command line as users meet it: bad input exits 2 with one clear line and starts nothing;
// environment fallbacks; logs (one line per connection event, text or JSON).

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "harness.hpp"
#include "preconditions.hpp"
#include "memory_cgroup.hpp"
#include "runner/forwarder.hpp"
#include "temp_dir.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::proto;

namespace {

void expect_exit_2(std::vector<std::string> args, std::string const& mention,
                   std::map<std::string, std::string> env = {}) {
    client_process client(args, env);
    auto const code = client.wait_exit_blocking(10s);
    BOOST_REQUIRE_MESSAGE(code.has_value(), "tunnel-client did not exit on bad input");
    BOOST_TEST(*code == 2);
    auto const log = client.log();
    auto const lines = lines_of(log);
    BOOST_REQUIRE(!lines.empty());
    BOOST_TEST(lines.front().rfind("tunnel-client: error: ", 0) == 0u, lines.front());
    BOOST_TEST(lines.front().find(mention) != std::string::npos, lines.front()
                                                                     << " should mention " << mention);
    BOOST_TEST(log.find("connecting") == std::string::npos);  // nothing started
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(bad_input_exits_2_naming_the_problem) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const url = "ws://127.0.0.1:" + std::to_string(listener.port());
    expect_exit_2({}, "missing runner URL");
    expect_exit_2({"--runner-url", url}, "missing container id");
    expect_exit_2({"-r", "ftp://127.0.0.1:1", "-c", "x"}, "ws:// or wss://");
    expect_exit_2({"-r", "127.0.0.1:8001", "-c", "x"}, "ws:// or wss://");
    expect_exit_2({"-r", url, "-c", "x", "--reconnect-delay", "soon"}, "--reconnect-delay");
    expect_exit_2({"-r", url, "-c", "x", "--reconnect-delay", "-5"}, "-5");
    expect_exit_2({"-r", url, "-c", "x", "--max-reconnect", "two"}, "--max-reconnect");
    expect_exit_2({"-r", url, "-c", "x", "--log-level", "chatty"}, "chatty");
    expect_exit_2({"-r", url, "-c", "x", "--no-such-flag"}, "no-such-flag");
    expect_exit_2({"-r", url, "-c", "x", "--reconnect-delay"}, "reconnect-delay");
    expect_exit_2({"-r", url}, "MAX_RECONNECT", {{"CONTAINER_ID", "x"}, {"MAX_RECONNECT", "-1"}});
    // Nothing was started: the runner saw no connection at all.
    listener.close();
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto peer = co_await listener.accept();
            BOOST_TEST(!peer);
        },
        5s);
}

BOOST_AUTO_TEST_CASE(help_and_version_exit_0) {
    client_process help({"--help"});
    BOOST_TEST(help.wait_exit_blocking(10s).value_or(-1) == 0);
    BOOST_TEST(help.log().find("--runner-url") != std::string::npos);
    BOOST_TEST(help.log().find("KOHAKURIVER_CONTAINER_ID") != std::string::npos);
    client_process version({"--version"});
    BOOST_TEST(version.wait_exit_blocking(10s).value_or(-1) == 0);
    BOOST_TEST(version.log().find(TUNNEL_VERSION) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(kohakuriver_environment_is_enough) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client({},
                          {{"KOHAKURIVER_TUNNEL_URL", "ws://127.0.0.1:" + std::to_string(listener.port())},
                           {"KOHAKURIVER_CONTAINER_ID", "from-runner-env"}});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        BOOST_TEST(peer->container_id() == "from-runner-env");
    });
}

BOOST_AUTO_TEST_CASE(command_line_beats_environment) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client({"--container-id", "from-flag"},
                          {{"RUNNER_URL", "ws://127.0.0.1:" + std::to_string(listener.port())},
                           {"CONTAINER_ID", "from-env"},
                           {"LOG_LEVEL", "not-a-level"},
                           {"MAX_RECONNECT", "2"}});
    // LOG_LEVEL is bad, so this must fail... unless the flag wins: give it on the command line.
    auto const code = client.wait_exit_blocking(10s);
    BOOST_TEST(code.value_or(-1) == 2);
    client_process fixed({"--container-id", "from-flag", "--log-level", "info"},
                         {{"RUNNER_URL", "ws://127.0.0.1:" + std::to_string(listener.port())},
                          {"CONTAINER_ID", "from-env"},
                          {"LOG_LEVEL", "not-a-level"}});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        BOOST_TEST(peer->container_id() == "from-flag");
    });
}

BOOST_AUTO_TEST_CASE(info_logs_one_line_per_connection_event_in_json) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--log-level", "info", "--log-format", "json"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
        auto s = co_await connect_tcp(emu.forward_port(0));
        for (int i = 0; i < 500; ++i) {  // 1000 frames through one connection
            auto const msg = pattern(64, static_cast<std::uint32_t>(i));
            BOOST_TEST(co_await echo_round_trip(s, msg) == sha256_hex(msg));
        }
        s.close();
        co_await wait_until([&] { return client.log().find("connection closed") != std::string::npos; }, 5s,
                            "close logged");
    });
    auto const lines = lines_of(client.log());
    int about_connection = 0;
    for (auto const& line : lines) {
        boost::system::error_code ec;
        auto const value = boost::json::parse(line, ec);
        BOOST_REQUIRE_MESSAGE(!ec && value.is_object(), "not a JSON object: " << line);
        auto const& obj = value.as_object();
        BOOST_TEST(obj.contains("ts"));
        BOOST_TEST(obj.contains("level"));
        BOOST_TEST(obj.contains("msg"));
        if (obj.contains("client_id")) {
            ++about_connection;
            BOOST_TEST(obj.at("client_id").is_int64());  // numbers stay numbers
        }
    }
    BOOST_TEST(about_connection == 2);  // opened, closed: never a line per frame
    BOOST_TEST(lines.size() < 10u);
}

BOOST_AUTO_TEST_CASE(text_log_lines_have_timestamp_level_and_fields) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--log-level", "info"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        co_await wait_until([&] { return client.log().find("tunnel up") != std::string::npos; }, 5s,
                            "tunnel up");
    });
    for (auto const& line : lines_of(client.log())) {
        BOOST_TEST(line.size() > 28u);
        BOOST_TEST(line[4] == '-');
        BOOST_TEST(line[10] == 'T');
        BOOST_TEST(line.find(" INFO ") != std::string::npos, line);
    }
    BOOST_TEST(client.log().find("container_id=c1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_buffer_follows_the_memory_limit_of_its_cgroup,
                     *boost::unit_test::precondition(memory_cgroup::available)) {
    // A real memory cgroup with a 256 MiB limit: the default --session-buffer becomes an eighth of it.
    memory_cgroup cgroup(256 * 1024 * 1024);
    auto const& dir = cgroup.path();

    auto args = client_args(unused_tcp_port(), "c1", {"--log-level", "debug"});
    std::vector<std::string> wrapper{"-c", "echo $$ > " + dir + "/cgroup.procs && exec \"$0\" \"$@\"", client_path()};
    wrapper.insert(wrapper.end(), args.begin(), args.end());
    {
        auto client = client_process::run_program("/bin/sh", wrapper);
        asio::io_context ioc;
        run_test(ioc, [&]() -> asio::awaitable<void> {
            co_await wait_until(
                [&] { return client->log().find("session buffer from the memory limit") != std::string::npos; }, 5s,
                "the memory limit in the log");
        });
        auto const log = client->log();
        BOOST_TEST(log.find("limit=268435456") != std::string::npos, log);
        BOOST_TEST(log.find("session_buffer=33554432") != std::string::npos, log);
        BOOST_TEST(log.find(dir) != std::string::npos, log);
        client->send_signal(SIGTERM);
        BOOST_TEST(client->wait_exit_blocking(5s).has_value());
    }
}

namespace {
// The log files in dir: name -> size.
std::map<std::string, std::uintmax_t> files_in(std::string const& dir) {
    std::map<std::string, std::uintmax_t> out;
    std::error_code ec;
    for (auto const& e : std::filesystem::directory_iterator(dir, ec)) {
        auto const size = e.file_size(ec);  // the client may rotate it away meanwhile
        if (!ec) out[e.path().filename().string()] = size;
    }
    return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(log_file_rotates_by_size_and_keeps_at_most_n_files) {
    temp_dir dir("tunnel-log-test");
    auto const file = dir.path() + "/client.log";
    // A runner that is never there: every attempt logs a few lines, quickly.
    client_process client(client_args(unused_tcp_port(), "c1",
                                      {"--log-file", file, "--log-max-size", "16K", "--log-max-files", "3",
                                       "--log-level", "debug", "--reconnect-delay", "0.001",
                                       "--max-reconnect-delay", "0.001"}));
    asio::io_context ioc;
    std::size_t rotations_seen = 0;
    std::set<std::string> names;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        // Watch until the file has been rotated several times over.
        co_await wait_until(
            [&] {
                for (auto const& [name, size] : files_in(dir.path())) {
                    names.insert(name);
                    BOOST_TEST(size <= 16u * 1024 + 512, name << " is " << size << " bytes");
                }
                auto const now = files_in(dir.path());
                BOOST_TEST(now.size() <= 3u);
                rotations_seen = names.size() > 1 ? names.size() - 1 : 0;
                return rotations_seen >= 4;
            },
            20s, "four rotations of the log file");
    });
    BOOST_TEST(client.log().empty(), "stderr should stay empty: " << client.log());
    std::string seen;
    for (auto const& n : names) seen += n + " ";
    BOOST_TEST(names.count("client.log") == 1u, "files seen: " << seen);  // the current file
}

BOOST_AUTO_TEST_CASE(sighup_reopens_the_log_file_after_it_was_moved_away) {
    temp_dir dir("tunnel-log-test");
    auto const file = dir.path() + "/client.log";
    // (the backoff capped low: a failed dial, and its log line, comes at least every 0.5 s)
    client_process client(client_args(unused_tcp_port(), "c1",
                                      {"--log-file", file, "--reconnect-delay", "0.2", "--max-reconnect-delay", "0.5"}));
    asio::io_context ioc;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto const has = [](std::string const& path, std::string const& text) {
            return read_file(path).find(text) != std::string::npos;
        };
        co_await wait_until([&] { return has(file, "tunnel-client starting"); }, 5s, "the first lines");
        std::filesystem::rename(file, dir.path() + "/client.log.old");  // what logrotate does
        client.send_signal(SIGHUP);
        co_await wait_until([&] { return has(file, "log file reopened"); }, 5s, "a new file after SIGHUP");
        co_await wait_until([&] { return has(file, "cannot reach runner"); }, 5s, "later lines in the new file");
        BOOST_TEST(!has(dir.path() + "/client.log.old", "log file reopened"));
    });
    BOOST_TEST(!client.poll_exit().has_value());  // SIGHUP does not end it
}

namespace {
// Bytes held by files the client still writes although their name is gone ("(deleted)").
std::uintmax_t deleted_log_bytes(pid_t pid) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (auto const& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        auto const target = std::filesystem::read_symlink(fd.path(), link_ec).string();
        if (link_ec || target.find("client.log") == std::string::npos || !target.ends_with("(deleted)")) continue;
        total += std::filesystem::file_size(fd.path(), link_ec);
    }
    return total;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_removed_log_directory_keeps_the_size_cap_and_logging_resumes) {
    temp_dir dir("tunnel-log-test");
    auto const logs = dir.path() + "/logs";
    std::filesystem::create_directory(logs);
    auto const file = logs + "/client.log";
    client_process client(client_args(unused_tcp_port(), "c1",
                                      {"--log-file", file, "--log-max-size", "16K", "--log-level", "debug",
                                       "--reconnect-delay", "0.001", "--max-reconnect-delay", "0.001"}));
    asio::io_context ioc;
    std::uintmax_t most_deleted = 0;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return read_file(file).find("tunnel-client starting") != std::string::npos; },
                            10s, "the first lines");
        std::filesystem::remove_all(logs);
        // More than three files' worth of lines later, the file written while its directory was gone
        // must have been let go at the cap, and writing gone on under the same name.
        auto const logged_enough = [&] {
            most_deleted = std::max(most_deleted, deleted_log_bytes(client.pid()));
            return std::filesystem::exists(logs + "/client.log.1");
        };
        co_await wait_until(logged_enough, 20s, "rotations after the directory was removed");
        client.send_signal(SIGHUP);
        co_await wait_until([&] { return read_file(file).find("log file reopened") != std::string::npos; }, 10s,
                            "the file reopened after SIGHUP");
        most_deleted = std::max(most_deleted, deleted_log_bytes(client.pid()));
    });
    BOOST_TEST(most_deleted <= 16u * 1024, "a deleted log file held " << most_deleted << " bytes");
    BOOST_TEST(deleted_log_bytes(client.pid()) == 0u);
    BOOST_TEST(!client.poll_exit().has_value());
}

namespace {
constexpr char const* prlimit = "/usr/bin/prlimit";
precondition_result prlimit_installed(boost::unit_test::test_unit_id) {
    precondition_result r(::access(prlimit, X_OK) == 0);
    if (!r) r.message() << prlimit << " is missing (Debian package util-linux)";
    return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_full_disk_leaves_whole_lines_says_so_once_and_the_client_runs_on,
                     *boost::unit_test::precondition(prlimit_installed)) {
    // prlimit's file size limit makes the disk full for the client alone: the write that reaches it
    // is short, and every later one fails, as on a full file system.
    temp_dir dir("tunnel-log-test");
    auto const file = dir.path() + "/client.log";
    std::vector<std::string> args{"--fsize=6000", client_path()};
    for (auto& a : client_args(unused_tcp_port(), "c1",
                               {"--log-file", file, "--log-level", "debug", "--reconnect-delay", "0.001",
                                "--max-reconnect-delay", "0.001"}))
        args.push_back(a);
    auto client = client_process::run_program(prlimit, args);
    asio::io_context ioc;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return client->log().find("cannot be written") != std::string::npos; }, 20s,
                            "the notice on stderr");
        // Lines keep coming (a dial a millisecond): a while later there is still one notice.
        auto const size_then = std::filesystem::file_size(file);
        co_await pause(300ms);
        BOOST_TEST(std::filesystem::file_size(file) == size_then);
    });
    BOOST_TEST(!client->poll_exit().has_value(), "the client must run on: " << client->log());
    auto const text = read_file(file);
    BOOST_TEST(text.size() <= 6000u);
    BOOST_TEST(text.size() > 0u);
    BOOST_TEST(text.back() == '\n');  // no torn last line
    for (auto const& line : lines_of(text)) BOOST_TEST(line.rfind("20", 0) == 0u, "not a whole line: " << line);
    auto const err = client->log();
    std::size_t notices = 0;
    for (auto at = err.find("cannot be written"); at != std::string::npos; at = err.find("cannot be written", at + 1))
        ++notices;
    BOOST_TEST(notices == 1u, err);
    client->send_signal(SIGTERM);
    BOOST_TEST(client->wait_exit_blocking(10s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(bad_log_file_options_are_usage_errors) {
    expect_exit_2(client_args(unused_tcp_port(), "c1", {"--log-file", "/nonexistent/dir/client.log"}),
                  "/nonexistent/dir/client.log");
    expect_exit_2(client_args(unused_tcp_port(), "c1", {"--log-file", "/tmp/x.log", "--log-max-size", "1K"}),
                  "--log-max-size");
    expect_exit_2(client_args(unused_tcp_port(), "c1", {"--log-file", "/tmp/x.log", "--log-max-files", "1"}),
                  "--log-max-files");
}

BOOST_AUTO_TEST_SUITE_END()
