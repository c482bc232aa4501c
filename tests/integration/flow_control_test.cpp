// Flow control: a slow local service or a slow runner never grows memory without bound and never
// loses a byte; below its bound a slow connection does not delay the others; a connection that
// stops reading for good is closed after the stall timeout; --threads N is safe.

#include <boost/asio/co_spawn.hpp>
#include <boost/test/unit_test.hpp>

#include "harness.hpp"
#include "runner/forwarder.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;

namespace {

constexpr std::size_t MiB = 1024 * 1024;

// A service that never reads; holds the connection until the peer goes.
asio::awaitable<void> never_reads(tcp::socket s) { co_await pause(120s); }

}  // namespace

BOOST_AUTO_TEST_SUITE(flow_control)

BOOST_AUTO_TEST_CASE(slow_service_memory_bounded_nothing_lost) {
    asio::io_context ioc;
    auto records = std::make_shared<std::vector<sink_record>>();
    tcp_service slow(ioc.get_executor(), late_sink_handler(2500ms, records));
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", slow.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--conn-buffer", "1M", "--stall-timeout", "30"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            auto const rss_before = client.rss_kib();
            auto const data = pattern(64 * MiB, 11);
            auto s = co_await connect_tcp(emu.forward_port(0));
            co_await write_all(s, data);
            s.shutdown(tcp::socket::shutdown_send);
            co_await wait_until([&] { return records->size() == 1 && (*records)[0].eof; }, 60s, "sink EOF");
            BOOST_TEST((*records)[0].bytes == data.size());
            BOOST_TEST((*records)[0].sha == sha256_hex(data));
            auto const growth_kib = client.hwm_kib() - rss_before;
            BOOST_TEST_MESSAGE(
                "client memory growth while 64 MiB waited for a stalled service: " << growth_kib << " KiB");
            if (memory_figures_meaningful)
                BOOST_TEST(growth_kib < 24u * 1024);
            else
                BOOST_TEST_MESSAGE("the memory bound is not checked: " << memory_figures_meaningless_because);
            BOOST_TEST(emu.sessions_accepted() == 1u);
        },
        120s);
}

BOOST_AUTO_TEST_CASE(slow_service_below_its_bound_does_not_delay_others) {
    asio::io_context ioc;
    tcp_service stuck(ioc.get_executor(), never_reads);
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", stuck.port(), proto::tcp}, {0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--conn-buffer", "8M"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
        auto blocked = co_await connect_tcp(emu.forward_port(0));
        auto const filler = pattern(3 * MiB, 12);
        co_await write_all(blocked, filler);  // lands in the client's buffer for the stuck service
        auto s = co_await connect_tcp(emu.forward_port(1));
        auto const start = std::chrono::steady_clock::now();
        for (int i = 0; i < 50; ++i) {
            auto const msg = pattern(100, static_cast<std::uint32_t>(i));
            BOOST_TEST(co_await echo_round_trip(s, msg) == sha256_hex(msg));
        }
        auto const elapsed = std::chrono::steady_clock::now() - start;
        BOOST_TEST_MESSAGE("50 echoes beside a stuck connection: "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                           << " ms");
        BOOST_TEST((elapsed < scaled_for_build(3s)));
    });
}

BOOST_AUTO_TEST_CASE(connection_that_stops_reading_is_closed_after_stall_timeout) {
    asio::io_context ioc;
    tcp_service stuck(ioc.get_executor(), never_reads);
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(
        client_args(listener.port(), "c1", {"--conn-buffer", "64K", "--stall-timeout", "1"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, stuck.port()));
        co_await expect_frame(*peer, msg_type::connected, 1);
        bool pushed = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                auto const chunk = pattern(protocol::max_data_payload, 13);
                for (int i = 0; i < 256; ++i) {  // 16 MiB, far beyond what the kernel and the client hold
                    bool const sent = co_await peer->send_data(
                        make_frame(msg_type::data, proto::tcp, 1, stuck.port(), chunk));
                    if (!sent) break;
                }
                pushed = true;
            },
            [](std::exception_ptr) {});
        auto const start = std::chrono::steady_clock::now();
        co_await expect_frame(*peer, msg_type::close, 1, 10s);
        auto const waited = std::chrono::steady_clock::now() - start;
        BOOST_TEST((waited >= 900ms));
        // The tunnel carries on: the rest of the stuck stream is dropped, others work.
        co_await wait_until([&] { return pushed; }, 20s, "runner finished pushing");
        peer->send(make_frame(msg_type::connect, proto::tcp, 2, echo.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 2, echo.port(), "alive"));
        co_await expect_frame(*peer, msg_type::connected, 2);
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 2)).text() == "alive");
    });
    BOOST_TEST(client.log().find("stall timeout") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(slow_runner_bounds_upstream_memory_nothing_lost) {
    asio::io_context ioc;
    auto const data = std::make_shared<bytes const>(pattern(48 * MiB, 14));
    tcp_service source(ioc.get_executor(), source_handler(data));
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto peer = co_await accept_peer(listener);
            auto const pong = co_await barrier(*peer, 1);
            BOOST_TEST(pong.empty());
            auto const rss_before = client.rss_kib();
            peer->send(make_frame(msg_type::connect, proto::tcp, 1, source.port()));
            co_await pause(2500ms);  // the runner reads nothing for a while
            auto const growth_kib = client.hwm_kib() - rss_before;
            BOOST_TEST_MESSAGE("client memory growth while the runner did not read: " << growth_kib
                                                                                      << " KiB");
            if (memory_figures_meaningful)
                BOOST_TEST(growth_kib < 24u * 1024);
            else
                BOOST_TEST_MESSAGE("the memory bound is not checked: " << memory_figures_meaningless_because);
            co_await expect_frame(*peer, msg_type::connected, 1);
            sha256 hash;
            std::size_t total = 0;
            for (;;) {
                auto f = co_await next_frame(*peer);
                if (f.type() == msg_type::close) break;
                BOOST_REQUIRE(f.type() == msg_type::data);
                hash.update(f.payload);
                total += f.payload.size();
            }
            BOOST_TEST(total == data->size());
            BOOST_TEST(hash.hex() == sha256_hex(*data));
        },
        90s);
}

BOOST_AUTO_TEST_CASE(four_threads_move_the_same_bytes) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::tcp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1", {"--threads", "4", "--log-level", "info"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
            constexpr int connections = 64;
            int const ok = co_await concurrent_echoes(emu.forward_port(0), connections, 512 * 1024);
            BOOST_TEST(ok == connections);
        },
        90s);
}

BOOST_AUTO_TEST_SUITE_END()
