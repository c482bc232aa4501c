// TCP links: byte-exact transfers both ways, many connections, and the runner's edge cases
// (DATA before CONNECTED, CLOSE flushing, duplicate CONNECT, refused ports, IPv6-only services).

#include <boost/asio/co_spawn.hpp>
#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "preconditions.hpp"
#include "runner/forwarder.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;

namespace {

constexpr std::size_t MiB = 1024 * 1024;

// Sends payload as DATA frames of at most 64 KiB.
void send_data(runner::tunnel_peer& peer, std::uint32_t id, std::uint16_t port, bytes const& payload) {
    for (std::size_t off = 0; off < payload.size(); off += protocol::max_data_payload) {
        auto const n = std::min(protocol::max_data_payload, payload.size() - off);
        peer.send(make_frame(msg_type::data, proto::tcp, id, port,
                             std::span<std::uint8_t const>(payload.data() + off, n)));
    }
}

std::shared_ptr<std::vector<sink_record>> make_records() {
    return std::make_shared<std::vector<sink_record>>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp)

BOOST_AUTO_TEST_CASE(echo_32_mib_both_ways_byte_exact) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1"));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            auto s = co_await connect_tcp(emu.forward_port(0));
            auto const data = pattern(32 * MiB, 1);
            auto const echoed = co_await echo_round_trip(s, data);
            BOOST_TEST(echoed == sha256_hex(data));
        },
        90s);
}

BOOST_AUTO_TEST_CASE(download_then_service_closes) {
    // The service writes 8 MiB and closes: everything arrives, then the user sees EOF.
    asio::io_context ioc;
    auto const data = std::make_shared<bytes const>(pattern(8 * MiB, 2));
    tcp_service source(ioc.get_executor(), source_handler(data));
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", source.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1"));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            auto s = co_await connect_tcp(emu.forward_port(0));
            auto const got = co_await read_to_eof(s);
            BOOST_TEST(got.size() == data->size());
            BOOST_TEST(sha256_hex(got) == sha256_hex(*data));
        },
        60s);
}

BOOST_AUTO_TEST_CASE(hundred_concurrent_connections) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--log-level", "info"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            constexpr int connections = 100;
            int const ok = co_await concurrent_echoes(emu.forward_port(0), connections, 256 * 1024);
            BOOST_TEST(ok == connections);
            BOOST_TEST(echo.accepted() == static_cast<std::size_t>(connections));
        },
        90s);
}

BOOST_AUTO_TEST_CASE(data_before_connected_is_delivered_in_order) {
    asio::io_context ioc;
    auto records = make_records();
    tcp_service sink(ioc.get_executor(), sink_handler(records));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        auto const data = pattern(3 * MiB + 123, 3);
        // Like the CLI: CONNECT, then DATA at once, without waiting for CONNECTED.
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, sink.port()));
        send_data(*peer, 1, sink.port(), data);
        peer->send(make_frame(msg_type::close, proto::tcp, 1, sink.port()));
        auto connected = co_await expect_frame(*peer, msg_type::connected, 1);
        BOOST_TEST(connected.header.port == sink.port());
        BOOST_TEST(static_cast<int>(connected.header.proto) == 0);
        co_await wait_until([&] { return records->size() == 1 && (*records)[0].eof; }, 20s, "sink EOF");
        BOOST_TEST((*records)[0].bytes == data.size());
        BOOST_TEST((*records)[0].sha == sha256_hex(data));
        // The runner closed it: the client says nothing more about id 1.
        auto extra = co_await barrier(*peer, 500);
        BOOST_TEST(extra.empty());
    });
}

BOOST_AUTO_TEST_CASE(close_flushes_queued_bytes_before_closing) {
    // The service starts reading only after a second: the client holds most of the 12 MiB in its
    // queue when the runner's CLOSE arrives, and must still deliver every byte before closing.
    asio::io_context ioc;
    auto records = make_records();
    tcp_service sink(ioc.get_executor(), late_sink_handler(1000ms, records));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--conn-buffer", "32M"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 7, sink.port()));
        co_await expect_frame(*peer, msg_type::connected, 7);
        auto const data = pattern(12 * MiB, 4);
        send_data(*peer, 7, sink.port(), data);
        peer->send(make_frame(msg_type::close, proto::tcp, 7, sink.port()));
        // Late DATA and a repeated CLOSE for the closed id are ignored.
        peer->send(make_frame(msg_type::data, proto::tcp, 7, sink.port(), "late"));
        peer->send(make_frame(msg_type::close, proto::tcp, 7, sink.port()));
        auto extra = co_await barrier(*peer, 501);
        BOOST_TEST(extra.empty());
        co_await wait_until([&] { return records->size() == 1 && (*records)[0].eof; }, 30s, "sink EOF");
        BOOST_TEST((*records)[0].bytes == data.size());
        BOOST_TEST((*records)[0].sha == sha256_hex(data));
    });
}

BOOST_AUTO_TEST_CASE(duplicate_connect_newest_wins_silently) {
    asio::io_context ioc;
    auto records = make_records();
    tcp_service sink(ioc.get_executor(), sink_handler(records));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, sink.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 1, sink.port(), "first-user"));
        co_await expect_frame(*peer, msg_type::connected, 1);
        co_await wait_until([&] { return records->size() == 1 && (*records)[0].bytes == 10; }, 10s,
                            "first bytes");

        // A second user's CLI also counts from 1: the newest CONNECT takes the id.
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, sink.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 1, sink.port(), "second-user"));
        co_await expect_frame(*peer, msg_type::connected, 1);
        // Nothing else: no CLOSE or ERROR for the replaced stream (it would hit the new user).
        auto before = co_await barrier(*peer, 900);
        BOOST_TEST(before.empty());
        peer->send(make_frame(msg_type::close, proto::tcp, 1, sink.port()));
        co_await wait_until([&] { return records->size() == 2 && (*records)[0].eof && (*records)[1].eof; },
                            10s, "both sink connections closed");
        std::string_view const first = "first-user", second = "second-user";
        BOOST_TEST((*records)[0].sha ==
                   sha256_hex(std::span(reinterpret_cast<std::uint8_t const*>(first.data()), first.size())));
        BOOST_TEST(
            (*records)[1].sha ==
            sha256_hex(std::span(reinterpret_cast<std::uint8_t const*>(second.data()), second.size())));
    });
}

BOOST_AUTO_TEST_CASE(refused_port_then_working_connect) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    auto const closed_port = unused_tcp_port();
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, closed_port));
        peer->send(make_frame(msg_type::data, proto::tcp, 1, closed_port, "dropped"));
        auto error = co_await expect_frame(*peer, msg_type::error, 1);
        BOOST_TEST(error.header.port == closed_port);
        BOOST_TEST(error.text().find("refused") != std::string::npos, error.text());

        peer->send(make_frame(msg_type::connect, proto::tcp, 2, echo.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 2, echo.port(), "hello"));
        co_await expect_frame(*peer, msg_type::connected, 2);
        auto data = co_await expect_frame(*peer, msg_type::data, 2);
        BOOST_TEST(data.text() == "hello");
        // Nothing more for the failed id.
        auto extra = co_await barrier(*peer, 502);
        BOOST_TEST(extra.empty());
        // (Info lines reach the log a few milliseconds late.)
        co_await wait_until([&] { return client.log().find("connect failed") != std::string::npos; }, 5s,
                            "the failed connect logged");
    });
}

BOOST_AUTO_TEST_CASE(ipv6_only_service_is_reached_on_loopback,
                     *boost::unit_test::precondition(ipv6_on_loopback)) {
    asio::io_context ioc;
    tcp_service echo6(ioc.get_executor(), echo_handler, asio::ip::address_v6::loopback());
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 3, echo6.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 3, echo6.port(), "over ipv6"));
        co_await expect_frame(*peer, msg_type::connected, 3);
        auto data = co_await expect_frame(*peer, msg_type::data, 3);
        BOOST_TEST(data.text() == "over ipv6");
        BOOST_TEST(echo6.accepted() == 1u);
    });
}

BOOST_AUTO_TEST_CASE(frames_for_unknown_ids_are_ignored) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::data, proto::tcp, 99, 80, "nobody"));
        peer->send(make_frame(msg_type::close, proto::tcp, 98, 80));
        peer->send(make_frame(msg_type::data, proto::udp, 97, 53, "nobody"));
        auto extra = co_await barrier(*peer, 503);
        BOOST_TEST(extra.empty());
    });
}

BOOST_AUTO_TEST_CASE(service_close_sends_remaining_data_then_close) {
    asio::io_context ioc;
    auto const data = std::make_shared<bytes const>(pattern(1 * MiB + 7, 5));
    tcp_service source(ioc.get_executor(), source_handler(data));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 4, source.port()));
        co_await expect_frame(*peer, msg_type::connected, 4);
        sha256 hash;
        std::size_t total = 0;
        for (;;) {
            auto f = co_await next_frame(*peer);
            BOOST_REQUIRE_EQUAL(f.header.client_id, 4u);
            if (f.type() == msg_type::close) break;
            BOOST_REQUIRE(f.type() == msg_type::data);
            BOOST_TEST(f.payload.size() <= protocol::max_data_payload);
            BOOST_TEST(f.header.port == source.port());
            hash.update(f.payload);
            total += f.payload.size();
        }
        BOOST_TEST(total == data->size());
        BOOST_TEST(hash.hex() == sha256_hex(*data));
        auto extra = co_await barrier(*peer, 504);
        BOOST_TEST(extra.empty());
    });
}

BOOST_AUTO_TEST_SUITE_END()
