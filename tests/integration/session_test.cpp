// One WebSocket session: the endpoint path, protocol PING/PONG, junk the runner may send,
// WebSocket keepalive pings under load, oversized messages.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "runner/forwarder.hpp"
#include "test_pki.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;

BOOST_AUTO_TEST_SUITE(session)

BOOST_AUTO_TEST_CASE(connects_to_percent_encoded_tunnel_path) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    // A trailing slash on the URL is dropped; the id is percent-encoded, and decoded back exactly.
    client_process client({"--runner-url", "ws://127.0.0.1:" + std::to_string(listener.port()) + "/",
                           "--container-id", "my ctr/1%", "--log-level", "debug"});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        BOOST_TEST(peer->target() == "/ws/tunnel/my%20ctr%2F1%25");
        BOOST_TEST(peer->container_id() == "my ctr/1%");
        co_return;
    });
}

BOOST_AUTO_TEST_CASE(protocol_ping_is_answered_with_the_same_id) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        for (std::uint32_t id : {0u, 1u, 0xFFFFFFFFu}) {
            peer->send(make_frame(msg_type::ping, proto::tcp, id, 0));
            auto pong = co_await expect_frame(*peer, msg_type::pong, id);
            BOOST_TEST(pong.payload.empty());
        }
    });
}

BOOST_AUTO_TEST_CASE(junk_from_the_runner_is_ignored_and_the_tunnel_stays_up) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send_text("a text frame");
        peer->send(bytes{0x03, 0x00, 0x00});                                          // shorter than a header
        peer->send(bytes{});                                                          // empty
        peer->send(make_frame(static_cast<msg_type>(0x42), proto::tcp, 1, 80, "?"));  // unknown type
        peer->send(make_frame(msg_type::connected, proto::tcp, 1, 80));               // client-side types
        peer->send(make_frame(msg_type::pong, proto::tcp, 1, 80));
        peer->send(make_frame(msg_type::error, proto::tcp, 1, 80, "x"));
        auto extra = co_await barrier(*peer, 600);
        BOOST_TEST(extra.empty());
        // An unknown protocol in CONNECT gets an ERROR, nothing else.
        peer->send(make_frame(msg_type::connect, static_cast<proto>(7), 5, echo.port()));
        auto error = co_await expect_frame(*peer, msg_type::error, 5);
        BOOST_TEST(error.text().find("protocol") != std::string::npos);
        // Still fully working.
        peer->send(make_frame(msg_type::connect, proto::tcp, 6, echo.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 6, echo.port(), "still here"));
        co_await expect_frame(*peer, msg_type::connected, 6);
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 6)).text() == "still here");
    });
    BOOST_TEST(client.log().find("ignored text message") != std::string::npos);
    BOOST_TEST(client.log().find("ignored unknown message type") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(websocket_pings_are_answered_while_data_flows) {
    // The emulator, like uvicorn, pings an idle-looking client and drops it when no pong comes:
    // here after 0.3 s of silence a ping, after 0.6 s the verdict. A 24 MiB download keeps the
    // client busy for a while; the tunnel must survive it (one session, all bytes).
    asio::io_context ioc;
    auto records = std::make_shared<std::vector<sink_record>>();
    tcp_service sink(ioc.get_executor(), sink_handler(records));
    runner::listener_options quick_keepalive;
    quick_keepalive.keepalive_timeout = 600ms;
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", sink.port(), proto::tcp}}, quick_keepalive);
    emu.start();
    client_process client(client_args(emu.port(), "c1"));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            auto const data = pattern(24 * 1024 * 1024, 9);
            for (int round = 0; round < 3; ++round) {
                auto s = co_await connect_tcp(emu.forward_port(0));
                co_await write_all(s, data);
                s.shutdown(tcp::socket::shutdown_send);
                co_await wait_until(
                    [&] {
                        return records->size() == static_cast<std::size_t>(round + 1) && records->back().eof;
                    },
                    30s, "sink EOF");
                BOOST_TEST(records->back().sha == sha256_hex(data));
            }
            // Quiet for a while: only keepalive traffic.
            co_await pause(1500ms);
            BOOST_TEST(emu.sessions_accepted() == 1u);
        },
        90s);
}

BOOST_AUTO_TEST_CASE(a_runner_without_keepalive_neither_pings_nor_drops_a_quiet_client) {
    // keepalive_timeout 0 (the bench's runner): no pings, no idle verdict, and so no timer re-armed
    // on every read. The client's own keepalive is far off, so 0.5 s of silence must bring no pong,
    // and the tunnel must still carry a frame afterwards.
    asio::io_context ioc;
    runner::listener_options options;
    options.keepalive_timeout = 0ms;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, options);
    client_process client({"--runner-url", "ws://127.0.0.1:" + std::to_string(listener.port()),
                           "--container-id", "c1", "--keepalive-timeout", "60"});
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto peer = co_await accept_peer(listener);
            co_await pause(500ms);  // the silence under test, not a synchronisation
            BOOST_TEST(peer->frames_received() == 0u, peer->frames_received() << " frames (pongs?)");
            BOOST_TEST(!peer->ended());
            peer->send(make_frame(msg_type::connect, proto::udp, 7, 9));
            co_await expect_frame(*peer, msg_type::connected, 7);
        },
        30s);
}

// The client writes DATA frames itself, several per system call, while Beast answers pings from
// inside its read: the two must never interleave bytes. A runner pinging every millisecond
// through a 32 MiB upload must parse every frame, get every byte and its pongs.
// (Checked: without the lock the runner reads garbage or is reset; without the hand-over to a
// waiting Beast write, 2 pongs.)
void pongs_and_data_frames_take_turns(bool tls) {
    asio::io_context ioc;
    auto const data = std::make_shared<bytes const>(pattern(32 * 1024 * 1024, 17));
    tcp_service source(ioc.get_executor(), source_handler(data));
    runner::listener_options options;
    if (tls) options.tls = self_signed_server_context();
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, options);
    std::vector<std::string> args{
        "--runner-url", (tls ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(listener.port()),
        "--container-id", "c1"};
    if (tls) args.push_back("--tls-insecure");
    client_process client(args);
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto peer = co_await accept_peer(listener);
            auto const done = std::make_shared<bool>(false);
            asio::co_spawn(
                ioc,
                [peer, done]() -> asio::awaitable<void> {
                    while (!*done) {
                        peer->ping();
                        co_await pause(1ms);
                    }
                },
                asio::detached);
            peer->send(make_frame(msg_type::connect, proto::tcp, 1, source.port()));
            co_await expect_frame(*peer, msg_type::connected, 1);
            std::uint64_t messages = 1;
            sha256 hash;
            std::size_t total = 0;
            for (;;) {
                auto f = co_await next_frame(*peer);
                ++messages;
                if (f.type() == msg_type::close) break;
                BOOST_REQUIRE(f.type() == msg_type::data);
                // A runner that falls behind now and then: the client's socket fills up, so its
                // writes end part way and the rest waits, the moment a pong could cut in.
                if (messages % 2 == 0) co_await pause(10ms);
                hash.update(f.payload);
                total += f.payload.size();
            }
            *done = true;
            BOOST_TEST(total == data->size());
            BOOST_TEST(hash.hex() == sha256_hex(*data));
            auto const pongs = peer->frames_received() - messages;
            BOOST_TEST(pongs >= 10u, pongs << " pongs");
            BOOST_TEST(!peer->ended());
        },
        60s);
}

BOOST_AUTO_TEST_CASE(pongs_and_data_frames_take_turns_on_the_socket_while_data_flows_up) {
    pongs_and_data_frames_take_turns(false);
}

BOOST_AUTO_TEST_CASE(pongs_and_data_frames_take_turns_over_tls_too) {
    pongs_and_data_frames_take_turns(true);
}

BOOST_AUTO_TEST_CASE(oversized_message_ends_the_session_and_the_client_redials) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto first = co_await accept_peer(listener);
        bytes huge(8 * 1024 * 1024, 0x55);
        auto const header = make_frame(msg_type::data, proto::tcp, 1, 80);
        std::copy(header.begin(), header.end(), huge.begin());
        first->send(std::move(huge));
        auto second = co_await accept_peer(listener, 10s);
        BOOST_TEST(second->container_id() == "c1");
        auto pong = co_await barrier(*second, 1);
        BOOST_TEST(pong.empty());
    });
    BOOST_TEST(client.log().find("over the size limit") != std::string::npos, client.log());
}

BOOST_AUTO_TEST_CASE(wss_runner_carries_the_tunnel) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::listener_options tls;
    tls.tls = self_signed_server_context();
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, tls);
    // The certificate is self-signed, so verification is turned off for this runner.
    client_process client({"--runner-url", "wss://127.0.0.1:" + std::to_string(listener.port()),
                           "--container-id", "secure", "--tls-insecure", "--log-level", "debug"});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        BOOST_TEST(peer->container_id() == "secure");
        auto const data = pattern(300000, 21);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, echo.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 1, echo.port(), data));
        co_await expect_frame(*peer, msg_type::connected, 1);
        sha256 hash;
        std::size_t got = 0;
        while (got < data.size()) {
            auto f = co_await expect_frame(*peer, msg_type::data, 1);
            hash.update(f.payload);
            got += f.payload.size();
        }
        BOOST_TEST(hash.hex() == sha256_hex(data));
    });
}

BOOST_AUTO_TEST_CASE(wss_runner_with_untrusted_certificate_is_refused) {
    asio::io_context ioc;
    runner::listener_options tls;
    tls.tls = self_signed_server_context();
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, tls);
    // The client trusts a CA that did not sign the runner's certificate: a CA of the test's own,
    // not the machine's store, which a bare system does not have.
    test_pki pki;
    client_process client({"--runner-url", "wss://127.0.0.1:" + std::to_string(listener.port()),
                           "--container-id", "secure", "--max-reconnect", "1", "--ca-file", pki.ca_cert});
    run_test(ioc, [&]() -> asio::awaitable<void> {
        // The runner side keeps accepting (and failing the TLS handshake) while the client gives up.
        asio::co_spawn(ioc, listener.accept(),
                       [](std::exception_ptr, std::shared_ptr<runner::tunnel_peer>) {});
        auto const code = co_await client.wait_exit(10s);
        BOOST_REQUIRE(code.has_value());
        BOOST_TEST(*code == 1);
    });
    BOOST_TEST(client.log().find("tls:") != std::string::npos, client.log());
}

BOOST_AUTO_TEST_SUITE_END()
