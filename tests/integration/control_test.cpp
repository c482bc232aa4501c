// The control endpoint with the real binary: `status` (table and JSON, checked field by field
// against known byte counts), `health` in each state, one instance per container id (exit 4,
// --replace, a killed instance's name), and what the endpoint does with bad requests and with
// another user's.

#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>

#include "control/ask.hpp"
#include "control/endpoint.hpp"
#include "control/instance.hpp"
#include "control/messages.hpp"
#include "control/server.hpp"
#include "harness.hpp"
#include "preconditions.hpp"
#include "temp_dir.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

struct command_result {
    int code = -1;
    std::string output;  // stdout and stderr
};

// Runs `tunnel-client ARGS...` (status, health, or a second client) to its end.
asio::awaitable<command_result> run_tunnel_client(std::vector<std::string> args,
                                                  std::chrono::milliseconds limit = 15s) {
    client_process p(std::move(args));
    auto const code = co_await p.wait_exit(limit);
    BOOST_REQUIRE_MESSAGE(code.has_value(), "tunnel-client did not finish in time: " << p.log());
    co_return command_result{*code, p.log()};
}

asio::awaitable<json::object> status_json(std::string const& id) {
    std::vector<std::string> args{"status", "--json", "-c", id};
    auto const r = co_await run_tunnel_client(args);
    BOOST_REQUIRE_MESSAGE(r.code == 0, "status exited " << r.code << ": " << r.output);
    boost::system::error_code ec;
    auto value = json::parse(r.output, ec);
    BOOST_REQUIRE_MESSAGE(!ec && value.is_object(), "status --json printed: " << r.output);
    co_return value.as_object();
}

std::int64_t number(json::object const& o, char const* key) { return o.at(key).to_number<std::int64_t>(); }

// Re-asks until pred holds for the status answer (each ask is a real round trip).
asio::awaitable<json::object> status_until(std::string const& id,
                                           std::function<bool(json::object const&)> pred,
                                           std::string const& what, std::chrono::milliseconds limit = 10s) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto s = co_await status_json(id);
        if (pred(s)) co_return s;
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                              "status never showed " << what << "; last: " << json::serialize(s));
    }
}

using asio::local::stream_protocol;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Names of endpoints made by one test run (abstract names are shared by the whole machine).
std::string unique_id(std::string const& base) { return base + "-" + std::to_string(::getpid()); }

// Stands in for a running client's control endpoint until cancelled, counting its callers: the
// first `busy_first` are answered "busy" at once and closed, as a full endpoint does, and the next
// ones get a status with the tunnel up; when silent, callers are accepted and never answered.
asio::awaitable<void> fake_endpoint(stream_protocol::acceptor& acceptor, int busy_first, bool silent,
                                    int& callers) {
    std::vector<stream_protocol::socket> held;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec) co_return;
        ++callers;
        if (silent) {
            held.push_back(std::move(socket));
            continue;
        }
        std::string answer = control::busy_answer();
        if (callers > busy_first) {
            std::string request;
            co_await asio::async_read_until(socket, asio::dynamic_buffer(request), '\n', use_tuple);
            client_status up;
            up.state = tunnel_state::up;
            up.state_seconds = 3;
            answer = control::status_answer({4242, "test", "fake", "ws://fake"}, up);
        }
        answer += '\n';
        co_await asio::async_write(socket, asio::buffer(answer), use_tuple);
    }
}

// Runs `tunnel-client ARGS...` against a fake endpoint; how many callers the fake saw.
asio::awaitable<std::pair<command_result, int>> against_fake(std::string const& id,
                                                             std::vector<std::string> args, int busy_first,
                                                             bool silent = false) {
    stream_protocol::acceptor acceptor(co_await asio::this_coro::executor,
                                       stream_protocol::endpoint(control::endpoint_name(id)));
    int callers = 0;
    auto done = co_await (fake_endpoint(acceptor, busy_first, silent, callers) || run_tunnel_client(args));
    BOOST_REQUIRE(done.index() == 1u);
    co_return std::pair{std::get<1>(std::move(done)), callers};
}

constexpr char const* setpriv_path = "/usr/bin/setpriv";

precondition_result setpriv_installed(boost::unit_test::test_unit_id) {
    precondition_result r(::access(setpriv_path, X_OK) == 0);
    if (!r) r.message() << setpriv_path << " is missing (Debian package util-linux)";
    return r;
}

asio::awaitable<command_result> health(std::string const& id) {
    std::vector<std::string> args{"health", "-c", id};
    co_return co_await run_tunnel_client(args);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(control_endpoint_use)

BOOST_AUTO_TEST_CASE(status_shows_an_open_connection_byte_for_byte) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-bytes";
    // Credentials in the URL: status must never show them.
    client_process client({"--runner-url", "ws://someone:s3cret@127.0.0.1:" + std::to_string(listener.port()),
                           "--container-id", id, "--log-level", "debug"});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 7, echo.port()));
        co_await expect_frame(*peer, msg_type::connected, 7);
        auto const sent = pattern(100000, 7);
        peer->send(make_frame(msg_type::data, proto::tcp, 7, echo.port(), sent));
        bytes echoed;
        std::size_t data_frames = 0;
        while (echoed.size() < sent.size()) {
            auto f = co_await expect_frame(*peer, msg_type::data, 7);
            echoed.insert(echoed.end(), f.payload.begin(), f.payload.end());
            ++data_frames;
        }
        BOOST_TEST(sha256_hex(echoed) == sha256_hex(sent));

        auto s = co_await status_json(id);
        BOOST_TEST(s.at("ok").as_bool());
        BOOST_TEST(number(s, "pid") == client.pid());
        BOOST_TEST(s.at("version").as_string() == TUNNEL_VERSION);
        BOOST_TEST(s.at("container_id").as_string() == id);
        auto const runner = std::string(s.at("runner").as_string());
        BOOST_TEST(runner == "ws://127.0.0.1:" + std::to_string(listener.port()) + "/ws/tunnel/" + id);
        BOOST_TEST(json::serialize(s).find("s3cret") == std::string::npos);
        BOOST_TEST(s.at("state").as_string() == "up");
        BOOST_TEST(number(s, "state_ms") >= 0);
        BOOST_TEST(number(s, "uptime_ms") >= number(s, "state_ms"));
        BOOST_TEST(number(s, "sessions") == 1);
        BOOST_TEST(number(s, "reconnects") == 0);
        BOOST_TEST(s.at("last_error").is_null());
        auto const& totals = s.at("totals").as_object();
        BOOST_TEST(number(totals, "connections") == 1);
        BOOST_TEST(number(totals, "open") == 1);
        BOOST_TEST(number(totals, "bytes_up") == 100000);
        BOOST_TEST(number(totals, "bytes_down") == 100000);
        BOOST_TEST(number(totals, "frames_in") == 2);  // CONNECT, DATA
        BOOST_TEST(number(totals, "frames_out") == static_cast<std::int64_t>(1 + data_frames));
        auto const& links = s.at("links").as_array();
        BOOST_REQUIRE(links.size() == 1u);
        auto const& row = links[0].as_object();
        BOOST_TEST(number(row, "client_id") == 7);
        BOOST_TEST(row.at("proto").as_string() == "tcp");
        BOOST_TEST(number(row, "port") == echo.port());
        BOOST_TEST(number(row, "age_ms") >= 0);
        BOOST_TEST(number(row, "age_ms") <= number(s, "uptime_ms"));
        BOOST_TEST(number(row, "bytes_up") == 100000);
        BOOST_TEST(number(row, "bytes_down") == 100000);
        BOOST_TEST(number(row, "queued") == 0);

        // The table for people says the same.
        std::vector<std::string> human{"status", "-c", id};
        auto const table = co_await run_tunnel_client(human);
        BOOST_TEST(table.code == 0);
        BOOST_TEST(table.output.find("state       up for") != std::string::npos, table.output);
        BOOST_TEST(
            table.output.find("1 connections (1 open), 97.7 KiB up, 97.7 KiB down") != std::string::npos,
            table.output);
        BOOST_TEST(table.output.find("7          tcp   " + std::to_string(echo.port())) != std::string::npos,
                   table.output);

        // Closed: the row goes, the totals stay.
        peer->send(make_frame(msg_type::close, proto::tcp, 7, echo.port()));
        auto const after = co_await status_until(
            id, [](json::object const& o) { return o.at("links").as_array().empty(); }, "the row gone");
        auto const& t = after.at("totals").as_object();
        BOOST_TEST(number(t, "open") == 0);
        BOOST_TEST(number(t, "connections") == 1);
        BOOST_TEST(number(t, "bytes_up") == 100000);
        BOOST_TEST(number(t, "bytes_down") == 100000);
    });
}

BOOST_AUTO_TEST_CASE(health_follows_the_tunnel_up_down_and_gone) {
    asio::io_context ioc;
    auto listener = std::make_unique<runner::tunnel_listener>(
        ioc.get_executor(), tcp::endpoint{asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-health";
    auto client = std::make_unique<client_process>(client_args(listener->port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(*listener);
        auto up = co_await health(id);
        BOOST_TEST(up.code == 0, up.output);
        BOOST_TEST(up.output.rfind("up for ", 0) == 0u, up.output);

        // The runner goes away: the client runs on, the tunnel is down, and health says why.
        listener.reset();
        peer->close(1011);
        auto down = co_await status_until(
            id, [](json::object const& o) { return o.at("state").as_string() != "up"; }, "the tunnel down");
        BOOST_TEST(!down.at("last_error").is_null());
        auto sick = co_await health(id);
        BOOST_TEST(sick.code == 1, sick.output);
        BOOST_TEST(sick.output.rfind("tunnel down: ", 0) == 0u, sick.output);
        BOOST_TEST(sick.output.find("last error: ") != std::string::npos, sick.output);
        BOOST_TEST(std::count(sick.output.begin(), sick.output.end(), '\n') == 1);

        // No client at all.
        client.reset();
        auto gone = co_await health(id);
        BOOST_TEST(gone.code == 3, gone.output);
        std::vector<std::string> status_args{"status", "-c", id};
        auto none = co_await run_tunnel_client(status_args);
        BOOST_TEST(none.code == 3, none.output);
        BOOST_TEST(none.output.find("no tunnel-client is running for container " + id) != std::string::npos,
                   none.output);
    });
}

BOOST_AUTO_TEST_CASE(without_an_id_status_finds_the_clients_here) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> plain{"status"};
        std::vector<std::string> plain_health{"health"};
        auto nobody = co_await run_tunnel_client(plain);
        BOOST_TEST(nobody.code == 3, nobody.output);
        BOOST_TEST(nobody.output.find("no tunnel-client is running here") != std::string::npos,
                   nobody.output);

        client_process one(client_args(listener.port(), "ctl-one"));
        auto p1 = co_await accept_peer(listener);
        auto only = co_await run_tunnel_client(plain);
        BOOST_TEST(only.code == 0, only.output);
        BOOST_TEST(only.output.find("container ctl-one") != std::string::npos, only.output);
        auto fine = co_await run_tunnel_client(plain_health);
        BOOST_TEST(fine.code == 0, fine.output);

        client_process two(client_args(listener.port(), "ctl-two"));
        auto p2 = co_await accept_peer(listener);
        std::vector<std::string> json_args{"status", "--json"};
        auto both = co_await run_tunnel_client(json_args);
        BOOST_TEST(both.code == 0, both.output);
        auto const lines = lines_of(both.output);
        BOOST_REQUIRE(lines.size() == 2u);
        BOOST_TEST(json::parse(lines[0]).as_object().at("container_id").as_string() == "ctl-one");
        BOOST_TEST(json::parse(lines[1]).as_object().at("container_id").as_string() == "ctl-two");
        auto which = co_await run_tunnel_client(plain_health);
        BOOST_TEST(which.code == 2, which.output);
        BOOST_TEST(which.output.find("ctl-one, ctl-two") != std::string::npos, which.output);
        BOOST_TEST(which.output.find("-c ID") != std::string::npos, which.output);
    });
}

BOOST_AUTO_TEST_CASE(a_second_client_for_the_same_container_is_refused) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-twice";
    client_process first(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        auto second = co_await run_tunnel_client(client_args(listener.port(), id));
        BOOST_TEST(second.code == 4, second.output);
        auto const lines = lines_of(second.output);  // (the debug log may come first)
        BOOST_REQUIRE(!lines.empty());
        BOOST_TEST(lines.back() == "tunnel-client: another tunnel-client (pid " +
                                       std::to_string(first.pid()) + ") already runs for container " + id +
                                       "; give --replace to take over");
        // The first one was left alone, and the runner never saw the second.
        BOOST_TEST(!first.poll_exit().has_value());
        auto const extra = co_await barrier(*peer, 77);
        BOOST_TEST(extra.empty());
        auto const s = co_await status_json(id);
        BOOST_TEST(number(s, "pid") == first.pid());
        BOOST_TEST(number(s, "sessions") == 1);
    });
}

BOOST_AUTO_TEST_CASE(replace_stops_the_running_client_politely_and_takes_over) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-replace";
    client_process old_client(client_args(listener.port(), id));
    std::unique_ptr<client_process> new_client;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto old_peer = co_await accept_peer(listener);
        new_client = std::make_unique<client_process>(client_args(listener.port(), id, {"--replace"}));
        // The old one says goodbye (going away) and exits 0; then the new one dials.
        auto const old_exit = co_await old_client.wait_exit(10s);
        BOOST_REQUIRE(old_exit.has_value());
        BOOST_TEST(*old_exit == 0, old_client.log());
        BOOST_TEST(old_client.log().find("asked to stop by another tunnel-client") != std::string::npos);
        while (co_await old_peer->receive()) {
        }
        BOOST_TEST(old_peer->peer_close_code() == 1001);
        auto new_peer = co_await accept_peer(listener);
        BOOST_TEST(new_peer->container_id() == id);

        // Exactly one tunnel now: the new one carries traffic, and nobody else dials in.
        new_peer->send(make_frame(msg_type::connect, proto::tcp, 1, echo.port()));
        new_peer->send(make_frame(msg_type::data, proto::tcp, 1, echo.port(), "after the takeover"));
        co_await expect_frame(*new_peer, msg_type::connected, 1);
        auto data = co_await expect_frame(*new_peer, msg_type::data, 1);
        BOOST_TEST(data.text() == "after the takeover");
        auto const s = co_await status_json(id);
        BOOST_TEST(number(s, "pid") == new_client->pid());
        BOOST_TEST(!new_client->poll_exit().has_value());
        // (A quiet moment is the only way to see that nothing else comes.)
        auto const third = co_await (listener.accept() || pause(500ms));
        BOOST_TEST(third.index() == 1u, "a third tunnel dialled in");
    });
}

BOOST_AUTO_TEST_CASE(a_killed_client_leaves_nothing_that_blocks_the_next) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-killed";
    client_process first(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto p1 = co_await accept_peer(listener);
        first.send_signal(SIGKILL);
        auto const code = co_await first.wait_exit(5s);
        BOOST_TEST(code.has_value());
        client_process next(client_args(listener.port(), id));
        auto p2 = co_await accept_peer(listener);
        auto const s = co_await status_json(id);
        BOOST_TEST(number(s, "pid") == next.pid());
    });
}

BOOST_AUTO_TEST_CASE(bad_requests_get_an_error_answer_and_the_client_carries_on) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-bad";
    auto const name = tunnel::control::endpoint_name(id);
    client_process client(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        auto error_for = [&](std::string request) {
            auto const r = tunnel::control::ask(name, request, 10s);
            BOOST_REQUIRE_MESSAGE(r.kind == tunnel::control::ask_result::outcome::answered, r.reason);
            auto const o = json::parse(r.answer).as_object();
            BOOST_TEST(o.at("ok").as_bool() == false);
            return std::string(o.at("error").as_string());
        };
        BOOST_TEST(error_for("hello").find("not JSON") != std::string::npos);
        BOOST_TEST(error_for("{}").find("no \"cmd\"") != std::string::npos);
        BOOST_TEST(error_for(R"({"cmd":"shutdown -h now"})").find("unknown cmd") != std::string::npos);
        BOOST_TEST(error_for(std::string(1 << 20, 'x')).find("longer than 4096 bytes") != std::string::npos);
        BOOST_TEST(error_for(std::string(3000, ' ') + R"({"cmd":"status"})" + std::string(2000, ' '))
                       .find("longer than 4096") != std::string::npos);


        // 16 callers at once are served; the next one is told "busy" (they arrive in order).
        {
            std::vector<asio::local::stream_protocol::socket> callers;
            for (int i = 0; i < 16; ++i) {
                callers.emplace_back(ioc);
                callers.back().connect(asio::local::stream_protocol::endpoint(name));
            }
            BOOST_TEST(error_for(R"({"cmd":"status"})").find("busy") != std::string::npos);
        }
        // Once they have gone, callers are served again.
        co_await wait_until(
            [&] {
                auto const r = tunnel::control::ask(name, R"({"cmd":"status"})", 5s);
                return r.kind == tunnel::control::ask_result::outcome::answered &&
                       tunnel::control::answer_error(r.answer).empty();
            },
            10s, "the control endpoint to serve again after the 16 callers left");

        // Through all of that the tunnel stayed up.
        auto const extra = co_await barrier(*peer, 5);
        BOOST_TEST(extra.empty());
        auto const s = co_await status_json(id);
        BOOST_TEST(s.at("state").as_string() == "up");
        BOOST_TEST(number(s, "sessions") == 1);
        BOOST_TEST(!client.poll_exit().has_value());
    });
}

BOOST_AUTO_TEST_CASE(a_silent_caller_is_dropped_after_about_a_second) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = unique_id("ctl-silent");
    client_process client(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        stream_protocol::socket silent(ioc);
        auto const start = std::chrono::steady_clock::now();
        co_await silent.async_connect(stream_protocol::endpoint(control::endpoint_name(id)),
                                      asio::use_awaitable);
        std::string answer;
        auto [ec, n] = co_await asio::async_read_until(silent, asio::dynamic_buffer(answer), '\n', use_tuple);
        auto const waited_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                .count();
        BOOST_TEST(!ec);
        BOOST_TEST(answer.find("no request within 1 s") != std::string::npos, answer);
        // Not at once, and well before the 5 s it used to take (room left for sanitizer builds).
        BOOST_TEST(waited_ms >= 900);
        BOOST_TEST(waited_ms < scaled_for_build(4000ms).count());
        char byte;
        auto [end, ignored] = co_await silent.async_read_some(asio::buffer(&byte, 1), use_tuple);
        BOOST_TEST(end == asio::error::eof);
    });
}

BOOST_AUTO_TEST_CASE(idle_callers_holding_every_slot_do_not_make_health_lie) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = unique_id("ctl-idle");
    auto const name = control::endpoint_name(id);
    client_process client(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        // 16 callers that connect and say nothing: every slot is taken (a 17th is told "busy").
        std::vector<stream_protocol::socket> idle;
        for (int i = 0; i < 16; ++i) {
            idle.emplace_back(ioc);
            co_await idle.back().async_connect(stream_protocol::endpoint(name), asio::use_awaitable);
        }
        auto const busy = control::ask(name, R"({"cmd":"status"})", 5s);
        BOOST_REQUIRE(busy.kind == control::ask_result::outcome::answered);
        BOOST_REQUIRE_MESSAGE(control::answer_busy(busy.answer), busy.answer);
        // health asks while they hold the slots: it waits them out and says the tunnel is up.
        auto const up = co_await health(id);
        BOOST_TEST(up.code == 0, up.output);
        BOOST_TEST(up.output.rfind("up for ", 0) == 0u, up.output);
        // They were dropped, each with its answer, and the tunnel never moved.
        std::string answer;
        auto [ec, n] =
            co_await asio::async_read_until(idle.front(), asio::dynamic_buffer(answer), '\n', use_tuple);
        BOOST_TEST(answer.find("no request within 1 s") != std::string::npos, answer);
        auto const extra = co_await barrier(*peer, 9);
        BOOST_TEST(extra.empty());
        BOOST_TEST(!client.poll_exit().has_value());
    });
}

BOOST_AUTO_TEST_CASE(another_user_is_refused_and_the_client_carries_on,
                     *boost::unit_test::precondition(running_as_root) *
                         boost::unit_test::precondition(setpriv_installed)) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    std::string const id = "ctl-other";
    client_process client(client_args(listener.port(), id));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        // setpriv drops to nobody, who asks for the status with a copy of the client that it can
        // read (the build tree may lie under a directory private to root, as a mktemp -d checkout
        // does; under an emulator, the emulator reads the client as nobody).
        temp_dir for_nobody("tunnel-nobody");
        std::filesystem::permissions(for_nobody.path(), std::filesystem::perms(0755));
        auto const copy = for_nobody.path() + "/tunnel-client";
        std::filesystem::copy_file(client_binary(), copy);
        std::vector<std::string> args{"--reuid=65534", "--regid=65534", "--clear-groups"};
        if (emulator_path) args.push_back(emulator_path);
        args.insert(args.end(), {copy, "status", "-c", id});
        auto other = client_process::run_program(
            setpriv_path, std::move(args),
            // (nobody may not read the tree's TSan suppressions; this short command needs none)
            {{"TSAN_OPTIONS", ""}});
        auto const code = co_await other->wait_exit(10s);
        BOOST_REQUIRE(code.has_value());
        BOOST_TEST(*code == 5, other->log());  // could not ask: not an answer about the tunnel
        BOOST_TEST(other->log().find("permission denied: uid 65534") != std::string::npos, other->log());

        auto const extra = co_await barrier(*peer, 5);
        BOOST_TEST(extra.empty());
        auto const s = co_await status_json(id);
        BOOST_TEST(s.at("state").as_string() == "up");
        BOOST_TEST(!client.poll_exit().has_value());
    });
}

BOOST_AUTO_TEST_CASE(health_and_status_ask_a_busy_endpoint_again) {
    asio::io_context ioc;
    std::string const id = unique_id("ctl-fake-busy");
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const h_args{"health", "-c", id};
        auto const h_asked = co_await against_fake(id, h_args, 3);
        auto const& h = h_asked.first;
        int const health_callers = h_asked.second;
        BOOST_TEST(h.code == 0, h.output);
        BOOST_TEST(h.output == "up for 3s\n");
        BOOST_TEST(health_callers == 4);  // three "busy", then served
        std::vector<std::string> const st_args{"status", "--json", "-c", id};
        auto const st_asked = co_await against_fake(id, st_args, 2);
        auto const& st = st_asked.first;
        int const status_callers = st_asked.second;
        BOOST_TEST(st.code == 0, st.output);
        BOOST_TEST(json::parse(st.output).as_object().at("state").as_string() == "up");
        BOOST_TEST(status_callers == 3);
    });
}

BOOST_AUTO_TEST_CASE(an_endpoint_that_cannot_be_asked_is_never_called_down) {
    asio::io_context ioc;
    std::string const id = unique_id("ctl-fake-full");
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            // Busy for longer than the commands wait: exit 5 and why, after several tries; never 1.
            std::vector<std::string> const h_args{"health", "-c", id};
            auto const h_asked = co_await against_fake(id, h_args, 1'000'000);
            auto const& h = h_asked.first;
            int const tries = h_asked.second;
            BOOST_TEST(h.code == 5, h.output);
            BOOST_TEST(h.output.rfind("could not ask @tunnel-client/" + id + ": busy: ", 0) == 0u, h.output);
            BOOST_TEST(std::count(h.output.begin(), h.output.end(), '\n') == 1);
            BOOST_TEST(tries >= 5);
            std::vector<std::string> const st_args{"status", "-c", id};
            auto const st_asked = co_await against_fake(id, st_args, 1'000'000);
            auto const& st = st_asked.first;
            int const status_tries = st_asked.second;
            BOOST_TEST(status_tries >= 5);
            BOOST_TEST(st.code == 5, st.output);
            BOOST_TEST(st.output.find("could not ask") != std::string::npos, st.output);
            // Accepted but never answered: exit 5 too, asked once.
            std::vector<std::string> const silent_args{"health", "-c", id};
            auto const silent_asked = co_await against_fake(id, silent_args, 0, true);
            auto const& silent = silent_asked.first;
            int const asked = silent_asked.second;
            BOOST_TEST(silent.code == 5, silent.output);
            BOOST_TEST(silent.output.find("no answer in time") != std::string::npos, silent.output);
            BOOST_TEST(asked == 1);
        },
        120s);
}

BOOST_AUTO_TEST_CASE(closing_the_server_ends_every_connection_and_leaves_no_work) {
    asio::io_context ioc;
    status_board board;
    auto const name = control::endpoint_name(unique_id("ctl-in-process"));
    auto const claim = control::claim_endpoint(name, {});
    BOOST_REQUIRE(std::holds_alternative<control::claimed>(claim));
    int stops = 0;
    control::server_options options;
    options.request_deadline = 60s;  // the idle callers stay until the server closes
    auto server = std::make_unique<control::server>(
        ioc.get_executor(), std::get<control::claimed>(claim).fd,
        control::identity{1, "test", "in-process", "ws://x"}, board, [&] { ++stops; }, options);
    server->start();
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<stream_protocol::socket> idle;
        for (int i = 0; i < 3; ++i) {
            idle.emplace_back(ioc);
            co_await idle.back().async_connect(stream_protocol::endpoint(name), asio::use_awaitable);
        }
        stream_protocol::socket stopper(ioc);
        co_await stopper.async_connect(stream_protocol::endpoint(name), asio::use_awaitable);
        std::string const stop = "{\"cmd\":\"stop\"}\n";
        co_await asio::async_write(stopper, asio::buffer(stop), asio::use_awaitable);
        std::string answer;
        co_await asio::async_read_until(stopper, asio::dynamic_buffer(answer), '\n', asio::use_awaitable);
        BOOST_TEST(answer.find("\"stopping\":true") != std::string::npos, answer);
        co_await wait_until([&] { return stops == 1; }, 5s, "the stop request handed on");

        server->close();
        // Every caller's connection ends, the stop caller's (held until now) too, and the name is free.
        auto const ended = [](stream_protocol::socket& s) -> asio::awaitable<bool> {
            char byte;
            auto r = co_await (s.async_read_some(asio::buffer(&byte, 1), use_tuple) || pause(10s));
            co_return r.index() == 0 && std::get<0>(r) == std::tuple{asio::error::eof, std::size_t{0}};
        };
        BOOST_TEST(co_await ended(stopper));
        stream_protocol::socket late(ioc);
        auto [refused] = co_await late.async_connect(stream_protocol::endpoint(name), use_tuple);
        BOOST_TEST(refused == asio::error::connection_refused, refused.message());
        for (auto& s : idle) BOOST_TEST(co_await ended(s));
    });
    // Nothing of the server is left on the io_context: run() returns by itself, long before 10 s.
    ioc.restart();
    auto const start = std::chrono::steady_clock::now();
    ioc.run_for(10s);
    BOOST_TEST(ioc.stopped());
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
}

BOOST_AUTO_TEST_CASE(the_commands_refuse_bad_arguments) {
    asio::io_context ioc;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::vector<std::string>> bad{
            {"status", "-x"}, {"status", "-c"}, {"health", "--json"}, {"health", "-c", "a", "extra"}};
        for (auto const& args : bad) {
            auto const r = co_await run_tunnel_client(args);
            BOOST_TEST(r.code == 2, args[1] << ": " << r.output);
            BOOST_TEST(r.output.find("Usage: tunnel-client " + args[0]) != std::string::npos, r.output);
        }
    });
}

BOOST_AUTO_TEST_SUITE_END()
