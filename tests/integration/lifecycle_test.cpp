// Session lifetimes: signals, runner restarts, dead runners, giving up, session end closing
// every local connection, and no descriptor leaks.

#include <boost/asio/co_spawn.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>

#include "harness.hpp"
#include "runner/forwarder.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;

namespace {

// Opens a link to the sink through a raw peer and waits until the sink has the bytes.
asio::awaitable<void> open_sink_link(runner::tunnel_peer& peer, std::uint32_t id, std::uint16_t port,
                                     std::shared_ptr<std::vector<sink_record>> const& records,
                                     std::size_t index) {
    peer.send(make_frame(msg_type::connect, proto::tcp, id, port));
    peer.send(make_frame(msg_type::data, proto::tcp, id, port, "hello"));
    co_await expect_frame(peer, msg_type::connected, id);
    co_await wait_until([&] { return records->size() > index && (*records)[index].bytes == 5; }, 10s,
                        "sink bytes");
}

// After a signal sent at `signalled`: the client exits 0 promptly, by its polite shutdown rather
// than by its own hard deadline (1.5 s after the signal), which would log that it took too long.
asio::awaitable<void> expect_polite_exit(client_process& client,
                                         std::chrono::steady_clock::time_point signalled) {
    auto const code = co_await client.wait_exit(10s);
    BOOST_REQUIRE_MESSAGE(code.has_value(), "the client did not exit within 10 s of the signal");
    auto const took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signalled);
    BOOST_TEST(*code == 0);
    BOOST_TEST((took < scaled_for_build(2s)), "the client exited " << took.count() << " ms after the signal");
    BOOST_TEST(client.log().find("shutdown took too long") == std::string::npos, client.log());
}

void signal_stops_politely(int sig) {
    asio::io_context ioc;
    auto records = std::make_shared<std::vector<sink_record>>();
    tcp_service sink(ioc.get_executor(), sink_handler(records));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        co_await open_sink_link(*peer, 1, sink.port(), records, 0);
        auto const start = std::chrono::steady_clock::now();
        client.send_signal(sig);
        // The client's close frame ends our read with "closed", code 1001 (going away).
        auto const end = co_await peer->receive();
        BOOST_TEST(!end.has_value());
        BOOST_TEST(peer->peer_close_code() == 1001);
        co_await expect_polite_exit(client, start);
        co_await wait_until([&] { return (*records)[0].eof; }, 5s, "local connection closed");
    });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(sigterm_sends_close_frame_closes_locals_and_exits_0) { signal_stops_politely(SIGTERM); }

BOOST_AUTO_TEST_CASE(sigint_sends_close_frame_closes_locals_and_exits_0) { signal_stops_politely(SIGINT); }

BOOST_AUTO_TEST_CASE(sigterm_while_runner_unreachable_exits_0) {
    client_process client(client_args(unused_tcp_port(), "c1", {"--reconnect-delay", "30"}));
    asio::io_context ioc;
    run_test(ioc, [&]() -> asio::awaitable<void> {
        co_await wait_until([&] { return client.log().find("reconnecting") != std::string::npos; }, 10s,
                            "first failure");
        auto const start = std::chrono::steady_clock::now();
        client.send_signal(SIGTERM);
        co_await expect_polite_exit(client, start);  // not after the 30 s backoff
    });
}

BOOST_AUTO_TEST_CASE(first_attempt_is_immediate) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--reconnect-delay", "30"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener, scaled_for_build(3s));  // not after the 30 s delay
        BOOST_TEST(peer->container_id() == "c1");
    });
}

BOOST_AUTO_TEST_CASE(runner_restart_without_close_frame_reconnects) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    auto emu = std::make_unique<runner::emulator>(
        ioc.get_executor(), tcp::endpoint{asio::ip::address_v4::loopback(), 0},
        std::vector<runner::forward_spec>{{0, "c1", echo.port(), proto::tcp}});
    emu->start();
    auto const runner_port = emu->port();
    client_process client(client_args(runner_port, "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu->wait_for_client("c1", 10s));
        {
            auto s = co_await connect_tcp(emu->forward_port(0));
            auto const data = pattern(100000, 1);
            BOOST_TEST(co_await echo_round_trip(s, data) == sha256_hex(data));
        }
        // Crash: TCP dropped, no close frame (1006); the port refuses for a moment.
        emu->stop();
        emu.reset();
        co_await wait_until([&] { return client.log().find("tunnel down") != std::string::npos; }, 5s,
                            "tunnel down");
        emu = std::make_unique<runner::emulator>(
            ioc.get_executor(), tcp::endpoint{asio::ip::address_v4::loopback(), runner_port},
            std::vector<runner::forward_spec>{{0, "c1", echo.port(), proto::tcp}});
        emu->start();
        BOOST_REQUIRE(co_await emu->wait_for_client("c1", 10s));
        auto s = co_await connect_tcp(emu->forward_port(0));
        auto const data = pattern(100000, 2);
        BOOST_TEST(co_await echo_round_trip(s, data) == sha256_hex(data));
    });
}

BOOST_AUTO_TEST_CASE(dead_runner_is_detected_and_its_socket_closed) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--keepalive-timeout", "1"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        // The runner goes silent: it reads nothing, so it answers no ping.
        auto silent = co_await accept_peer(listener);
        auto const start = std::chrono::steady_clock::now();
        auto second = co_await accept_peer(listener, scaled_for_build(6s));
        auto const detected = std::chrono::steady_clock::now() - start;
        BOOST_TEST((detected >= 900ms));
        BOOST_TEST((detected < scaled_for_build(4s)));
        // The abandoned socket was closed by the client, not left open.
        auto const end = co_await silent->receive();
        BOOST_TEST(!end.has_value());
        auto extra = co_await barrier(*second, 2);
        BOOST_TEST(extra.empty());
        // (Info lines reach the log a few milliseconds late.)
        co_await wait_until([&] { return client.log().find("dead peer") != std::string::npos; }, 5s,
                            "the dead peer logged");
    });
}

BOOST_AUTO_TEST_CASE(a_quiet_runner_that_answers_pings_is_kept) {
    // Nothing to carry for several keepalive timeouts: the client's pings and the runner's pongs
    // keep the one session (the emulator itself never pings here).
    asio::io_context ioc;
    runner::listener_options slow_keepalive;
    slow_keepalive.keepalive_timeout = 60s;
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, {}, slow_keepalive);
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--keepalive-timeout", "1"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
        co_await pause(3500ms);  // a quiet period of three and a half timeouts
        BOOST_TEST(emu.sessions_accepted() == 1u);
    });
    BOOST_TEST(client.log().find("dead peer") == std::string::npos, client.log());
}

BOOST_AUTO_TEST_CASE(max_reconnect_gives_up_with_exit_1) {
    client_process client(
        client_args(unused_tcp_port(), "c1", {"--max-reconnect", "3", "--reconnect-delay", "0.05"}));
    auto const code = client.wait_exit_blocking(10s);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 1);
    auto const log = client.log();
    BOOST_TEST(log.find("giving up") != std::string::npos, log);
    BOOST_TEST(log.find("attempts=3") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(backoff_grows_between_failed_attempts) {
    // A runner that accepts TCP and hangs up at once: every handshake fails.
    asio::io_context ioc;
    tcp::acceptor rude(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::vector<std::chrono::steady_clock::time_point> attempts;
    client_process client(client_args(rude.local_endpoint().port(), "c1", {"--reconnect-delay", "0.1"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            while (attempts.size() < 5) {
                auto s = co_await rude.async_accept(asio::use_awaitable);
                attempts.push_back(std::chrono::steady_clock::now());
                s.close();
            }
        },
        20s);
    auto gap = [&](std::size_t i) { return attempts[i + 1] - attempts[i]; };
    // Waits: 0.1-0.125, 0.2-0.25, 0.4-0.5, 0.8-1.0 s.
    BOOST_TEST((gap(0) >= 90ms));
    BOOST_TEST((gap(3) >= 700ms));
    BOOST_TEST((gap(3) > gap(0) * 3));  // nominally 8x; scheduling delay can only stretch gap(0)
}

BOOST_AUTO_TEST_CASE(handshake_that_never_completes_times_out) {
    // A runner that accepts TCP and then says nothing: the client gives up after --connect-timeout
    // and dials again, instead of hanging in the handshake.
    asio::io_context ioc;
    tcp::acceptor mute(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client_process client(client_args(mute.local_endpoint().port(), "c1", {"--connect-timeout", "0.5"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto first = co_await mute.async_accept(asio::use_awaitable);
            auto const start = std::chrono::steady_clock::now();
            auto second = co_await mute.async_accept(asio::use_awaitable);
            auto const waited = std::chrono::steady_clock::now() - start;
            BOOST_TEST((waited >= 400ms));
            BOOST_TEST((waited < scaled_for_build(3s)));
        },
        30s);
    BOOST_TEST(client.log().find("handshake") != std::string::npos, client.log());
}

BOOST_AUTO_TEST_CASE(session_end_closes_every_local_connection) {
    asio::io_context ioc;
    auto records = std::make_shared<std::vector<sink_record>>();
    tcp_service sink(ioc.get_executor(), sink_handler(records));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        for (std::uint32_t id = 1; id <= 5; ++id)
            co_await open_sink_link(*peer, id, sink.port(), records, id - 1);
        peer->abort();
        co_await wait_until(
            [&] {
                return std::all_of(records->begin(), records->end(), [](auto const& r) { return r.eof; });
            },
            5s, "all local connections closed");
        // And the client starts clean on the next session: the old ids are gone.
        auto next = co_await accept_peer(listener, 5s);
        next->send(make_frame(msg_type::data, proto::tcp, 1, sink.port(), "stale id"));
        auto extra = co_await barrier(*next, 3);
        BOOST_TEST(extra.empty());
        BOOST_TEST((*records)[0].bytes == 5u);
    });
}

BOOST_AUTO_TEST_CASE(no_descriptor_leaks_after_many_connections) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--log-level", "warn"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
        auto const baseline = client.open_sockets();
        for (int round = 0; round < 4; ++round) {
            std::vector<tcp::socket> sockets;
            for (int i = 0; i < 50; ++i) sockets.push_back(co_await connect_tcp(emu.forward_port(0)));
            for (auto& s : sockets) {
                auto const data = pattern(1000, 7);
                BOOST_TEST(co_await echo_round_trip(s, data) == sha256_hex(data));
            }
            BOOST_TEST(client.open_sockets() >= baseline + 50);
        }
        co_await wait_until([&] { return client.open_sockets() == baseline; }, 10s,
                            "sockets back to baseline");
        BOOST_TEST(client.open_sockets() == baseline);
    });
}

BOOST_AUTO_TEST_SUITE_END()
