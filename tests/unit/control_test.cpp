// The control endpoint's pure parts: its name, finding running clients in /proc/net/unix, the
// request/answer language, the status table and health verdict; and the status board's books.

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "control/ask.hpp"
#include "control/endpoint.hpp"
#include "control/messages.hpp"
#include "tunnel/status_board.hpp"

using namespace tunnel;
using namespace tunnel::control;
namespace json = boost::json;

namespace {
std::string refused(std::string_view line) {
    auto r = parse_request(line);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), "'" << line << "' should be refused");
    return std::get<std::string>(r);
}

identity someone() { return {4242, "9.9.9", "box-1", "wss://runner.example:8443/ws/tunnel/box-1"}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(control_endpoint)

BOOST_AUTO_TEST_CASE(names_come_from_the_container_id) {
    BOOST_TEST(endpoint_name("abc123") == std::string("\0tunnel-client/abc123", 21));
    BOOST_TEST(display_name(endpoint_name("abc123")) == "@tunnel-client/abc123");
    // Ids a name cannot hold as they are get a stable hash instead, distinct per id.
    auto const spaced = endpoint_name("my box");
    auto const long_id = endpoint_name(std::string(200, 'x'));
    BOOST_TEST(spaced.find(' ') == std::string::npos);
    BOOST_TEST(display_name(spaced).rfind("@tunnel-client/#", 0) == 0u, display_name(spaced));
    BOOST_TEST(long_id.size() < 108u);
    BOOST_TEST(spaced != long_id);
    BOOST_TEST(spaced == endpoint_name("my box"));
    BOOST_TEST(endpoint_name("") != endpoint_name(" "));
    BOOST_TEST(endpoint_name("x\ny") != endpoint_name("x y"));
}

BOOST_AUTO_TEST_CASE(listening_clients_are_found_in_proc_net_unix) {
    std::string const text =
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 1001 @tunnel-client/web-1\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03 1002 @tunnel-client/web-1\n"  // an accepted one
        "0000000000000000: 00000002 00000000 00010000 0001 01 1003 @tunnel-client/#00ff00ff00ff00ff\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 1004 /run/systemd/private\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 1005 @other-program\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 1006 @tunnel-client/\n"
        "0000000000000000: 00000002 00000000 00000000 0002 01 1007\n"
        "garbage line\n";
    auto const found = listening_endpoints(text);
    BOOST_REQUIRE(found.size() == 2u);
    BOOST_TEST(display_name(found[0]) == "@tunnel-client/#00ff00ff00ff00ff");
    BOOST_TEST(found[1] == endpoint_name("web-1"));
    BOOST_TEST(listening_endpoints("").empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(control_messages)

BOOST_AUTO_TEST_CASE(requests) {
    BOOST_TEST((std::get<request_kind>(parse_request(R"({"cmd":"status"})")) == request_kind::status));
    BOOST_TEST((std::get<request_kind>(parse_request(R"( {"cmd" : "stop", "extra": 1} )")) == request_kind::stop));
    BOOST_TEST(refused("status").find("not JSON") != std::string::npos);
    BOOST_TEST(refused("").find("not JSON") != std::string::npos);
    BOOST_TEST(refused(R"(["status"])").find("JSON object") != std::string::npos);
    BOOST_TEST(refused(R"({"command":"status"})").find("\"cmd\"") != std::string::npos);
    BOOST_TEST(refused(R"({"cmd":7})").find("\"cmd\"") != std::string::npos);
    BOOST_TEST(refused(R"({"cmd":"reboot"})") == "unknown cmd \"reboot\" (expected status or stop)");
    BOOST_TEST(refused(std::string(5000, ' ')).find("longer than 4096") != std::string::npos);
    // A long unknown command is not echoed back whole.
    BOOST_TEST(refused(R"({"cmd":")" + std::string(1000, 'a') + "\"}").size() < 120u);
}

BOOST_AUTO_TEST_CASE(a_status_answer_carries_every_field) {
    client_status s;
    s.state = tunnel_state::up;
    s.state_seconds = 75.5;
    s.uptime_seconds = 80;
    s.sessions = 2;
    s.reconnects = 3;
    s.last_error = "runner closed the connection";
    s.last_error_seconds_ago = 76;
    s.connections = 5;
    s.bytes_up = 1000;
    s.bytes_down = 2000;
    s.frames_in = 11;
    s.frames_out = 12;
    s.links.push_back({7, "tcp", 8080, 1.25, 100, 200, 300});
    s.links.push_back({9, "udp", 53, 0.5, 1, 2, 0});
    auto const line = status_answer(someone(), s);
    BOOST_TEST(line.find('\n') == std::string::npos);
    auto const o = json::parse(line).as_object();
    BOOST_TEST(o.at("ok").as_bool());
    BOOST_TEST(o.at("pid").to_number<long>() == 4242);
    BOOST_TEST(o.at("version").as_string() == "9.9.9");
    BOOST_TEST(o.at("container_id").as_string() == "box-1");
    BOOST_TEST(o.at("state").as_string() == "up");
    BOOST_TEST(o.at("state_ms").to_number<long>() == 75500);
    BOOST_TEST(o.at("sessions").to_number<long>() == 2);
    BOOST_TEST(o.at("reconnects").to_number<long>() == 3);
    BOOST_TEST(o.at("last_error").as_string() == "runner closed the connection");
    BOOST_TEST(o.at("last_error_ago_ms").to_number<long>() == 76000);
    auto const& totals = o.at("totals").as_object();
    BOOST_TEST(totals.at("connections").to_number<long>() == 5);
    BOOST_TEST(totals.at("open").to_number<long>() == 2);
    BOOST_TEST(totals.at("bytes_up").to_number<long>() == 1000);
    BOOST_TEST(totals.at("bytes_down").to_number<long>() == 2000);
    BOOST_TEST(totals.at("frames_in").to_number<long>() == 11);
    BOOST_TEST(totals.at("frames_out").to_number<long>() == 12);
    auto const& links = o.at("links").as_array();
    BOOST_REQUIRE(links.size() == 2u);
    auto const& first = links[0].as_object();
    BOOST_TEST(first.at("client_id").to_number<long>() == 7);
    BOOST_TEST(first.at("proto").as_string() == "tcp");
    BOOST_TEST(first.at("port").to_number<long>() == 8080);
    BOOST_TEST(first.at("age_ms").to_number<long>() == 1250);
    BOOST_TEST(first.at("bytes_up").to_number<long>() == 100);
    BOOST_TEST(first.at("bytes_down").to_number<long>() == 200);
    BOOST_TEST(first.at("queued").to_number<long>() == 300);
    BOOST_TEST(answer_error(line).empty());
    BOOST_TEST(answer_pid(line) == 4242);

    client_status fresh;
    auto const none = json::parse(status_answer(someone(), fresh)).as_object();
    BOOST_TEST(none.at("last_error").is_null());
    BOOST_TEST(none.at("state").as_string() == "connecting");
    BOOST_TEST(none.at("links").as_array().empty());
}

BOOST_AUTO_TEST_CASE(errors_and_stop) {
    auto const e = error_answer("no \"cmd\" string");
    BOOST_TEST(json::parse(e).as_object().at("ok").as_bool() == false);
    BOOST_TEST(answer_error(e) == "no \"cmd\" string");
    BOOST_TEST(answer_error("not json").find("not a JSON object") != std::string::npos);
    BOOST_TEST(answer_error("{}").find("no \"ok\"") != std::string::npos);
    BOOST_TEST(answer_pid("garbage") == 0);
    auto const stop = json::parse(stop_answer(someone())).as_object();
    BOOST_TEST(stop.at("stopping").as_bool());
    BOOST_TEST(stop.at("pid").to_number<long>() == 4242);
}

BOOST_AUTO_TEST_CASE(the_table_and_the_health_verdict) {
    client_status s;
    s.state = tunnel_state::up;
    s.state_seconds = 192;
    s.sessions = 1;
    s.links.push_back({7, "tcp", 8080, 12, 1024, 2048, 0});
    auto const up = status_answer(someone(), s);
    auto const table = render_status(up);
    BOOST_TEST(table.find("pid 4242, container box-1") != std::string::npos, table);
    BOOST_TEST(table.find("state       up for 3m12s (sessions 1, reconnects 0)") != std::string::npos, table);
    BOOST_TEST(table.find("last error  none") != std::string::npos, table);
    BOOST_TEST(table.find("CLIENT_ID") != std::string::npos, table);
    BOOST_TEST(table.find("7          tcp   8080  12s      1.0 KiB    2.0 KiB    0 B") != std::string::npos, table);
    auto const healthy = health_of(up);
    BOOST_TEST(healthy.exit_code == 0);
    BOOST_TEST(healthy.line == "up for 3m12s");

    s.state = tunnel_state::backing_off;
    s.state_seconds = 4;
    s.last_error = "connect: Connection refused";
    s.last_error_seconds_ago = 4;
    s.links.clear();
    auto const down = status_answer(someone(), s);
    BOOST_TEST(render_status(down).find("no open connections") != std::string::npos);
    auto const sick = health_of(down);
    BOOST_TEST(sick.exit_code == 1);
    BOOST_TEST(sick.line == "tunnel down: backing off for 4s (last error: connect: Connection refused)");
    BOOST_TEST(health_of("nonsense").exit_code == 1);
}

BOOST_AUTO_TEST_CASE(durations_and_sizes_for_people) {
    BOOST_TEST(human_duration(0.25) == "250ms");
    BOOST_TEST(human_duration(59) == "59s");
    BOOST_TEST(human_duration(61) == "1m1s");
    BOOST_TEST(human_duration(3 * 3600 + 120) == "3h2m");
    BOOST_TEST(human_duration(2 * 86400 + 3600) == "2d1h");
    BOOST_TEST(human_duration(-3) == "0ms");
    BOOST_TEST(human_bytes(0) == "0 B");
    BOOST_TEST(human_bytes(1023) == "1023 B");
    BOOST_TEST(human_bytes(1536) == "1.5 KiB");
    BOOST_TEST(human_bytes(12ull << 20) == "12.0 MiB");
    BOOST_TEST(human_bytes(3ull << 40) == "3.0 TiB");
}

BOOST_AUTO_TEST_CASE(a_busy_endpoint_is_told_apart_from_a_refusal) {
    BOOST_TEST(answer_busy(busy_answer()));
    BOOST_TEST(answer_error(busy_answer()) == "busy: too many control connections");
    // As every version of the server has sent it.
    BOOST_TEST(answer_busy(R"({"ok":false,"error":"busy: too many control connections"})"));
    BOOST_TEST(!answer_busy(error_answer("permission denied: uid 1 may not ask the client of uid 0")));
    BOOST_TEST(!answer_busy(error_answer("no request within 1 s")));
    BOOST_TEST(!answer_busy(status_answer(someone(), client_status{})));
    BOOST_TEST(!answer_busy("busy"));
}

BOOST_AUTO_TEST_CASE(busy_pauses_are_short_and_bounded) {
    BOOST_TEST(busy_pause(1, 0).count() == 50);
    BOOST_TEST(busy_pause(2, 0).count() == 100);
    BOOST_TEST(busy_pause(2, 0.99).count() <= 125);
    for (unsigned n = 1; n < 200; ++n) BOOST_TEST(busy_pause(n, 0.99).count() <= 500);
    // Within the commands' 5 s a busy endpoint is asked again many times, even with the most jitter.
    std::chrono::milliseconds total{0};
    unsigned tries = 0;
    while (total + busy_pause(tries + 1, 0.99) < std::chrono::milliseconds(5000)) total += busy_pause(++tries, 0.99);
    BOOST_TEST(tries >= 10u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(status_board_books)

BOOST_AUTO_TEST_CASE(rows_join_and_leave_and_their_bytes_stay_counted) {
    status_board board;
    link_stats a, b;
    a.client_id = 2;
    a.port = 80;
    b.client_id = 1;
    b.port = 53;
    b.udp = true;
    board.join(a);
    board.join(b);
    bump(a.bytes_up, 100);
    bump(a.bytes_down, 10);
    bump(b.bytes_up, 5);
    auto s = board.snapshot();
    BOOST_REQUIRE(s.links.size() == 2u);
    BOOST_TEST(s.links[0].client_id == 1u);  // by client_id
    BOOST_TEST(s.links[0].proto == "udp");
    BOOST_TEST(s.links[1].bytes_up == 100u);
    BOOST_TEST(s.connections == 2u);
    BOOST_TEST(s.bytes_up == 105u);
    BOOST_TEST(s.bytes_down == 10u);

    board.leave(a);
    board.leave(a);  // twice is harmless
    s = board.snapshot();
    BOOST_TEST(s.links.size() == 1u);
    BOOST_TEST(s.bytes_up == 105u);  // a's bytes stay in the totals
    BOOST_TEST(s.connections == 2u);
    board.leave(b);
    BOOST_TEST(board.snapshot().links.empty());
    BOOST_TEST(board.snapshot().bytes_up == 105u);
}

BOOST_AUTO_TEST_CASE(state_sessions_reconnects_and_errors) {
    status_board board;
    auto s = board.snapshot();
    BOOST_TEST((s.state == tunnel_state::connecting));
    BOOST_TEST(s.last_error.empty());
    BOOST_TEST(s.last_error_seconds_ago < 0);
    board.dialing();
    board.session_up();
    board.set_state(tunnel_state::up);
    board.frame_in();
    board.frame_out();
    board.frame_out();
    s = board.snapshot();
    BOOST_TEST((s.state == tunnel_state::up));
    BOOST_TEST(s.sessions == 1u);
    BOOST_TEST(s.reconnects == 0u);
    BOOST_TEST(s.frames_in == 1u);
    BOOST_TEST(s.frames_out == 2u);
    board.record_error("runner closed the connection");
    board.set_state(tunnel_state::backing_off);
    board.dialing();
    board.dialing();
    s = board.snapshot();
    BOOST_TEST(s.reconnects == 2u);
    BOOST_TEST(s.last_error == "runner closed the connection");
    BOOST_TEST(s.last_error_seconds_ago >= 0);
    BOOST_TEST(std::string(state_name(s.state)) == "backing off");
    board.set_state(tunnel_state::stopping);
    board.set_state(tunnel_state::up);  // stopping is final
    BOOST_TEST((board.snapshot().state == tunnel_state::stopping));
}

BOOST_AUTO_TEST_SUITE_END()
