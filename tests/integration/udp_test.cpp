// UDP links: datagram boundaries, the emulator's UDP forward, idle expiry, ICMP unreachable.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <fstream>
#include <optional>
#include <unistd.h>

#include "harness.hpp"
#include "own_network.hpp"
#include "preconditions.hpp"
#include "runner/forwarder.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;
using namespace boost::asio::experimental::awaitable_operators;

namespace {
// Waits until the process is stopped (state T in /proc/PID/stat), polling every millisecond.
asio::awaitable<void> until_stopped(pid_t pid, std::chrono::milliseconds timeout = 5s) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer tick(co_await asio::this_coro::executor);
    for (;;) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string const stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto const end_of_name = stat.rfind(')');
        if (end_of_name != std::string::npos && end_of_name + 2 < stat.size() && stat[end_of_name + 2] == 'T')
            co_return;
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the client did not stop");
        tick.expires_after(1ms);
        co_await tick.async_wait(asio::use_awaitable);
    }
}

// Loopback without IPv6, as in a Docker container on a network without it: ::1 is gone from lo
// while this lives. Only inside the test process's own network namespace (main.cpp makes one
// when it may); elsewhere it does nothing and active() is false.
class ipv6_loopback_off {
public:
    ipv6_loopback_off() {
        if (has_own_network_namespace()) active_ = write("1");
    }
    ~ipv6_loopback_off() {
        if (active_) write("0");
    }
    bool active() const { return active_; }

    static constexpr char const* setting = "/proc/sys/net/ipv6/conf/lo/disable_ipv6";

private:
    static bool write(char const* value) {
        std::ofstream out(setting);
        out << value;
        out.flush();
        return static_cast<bool>(out);
    }
    bool active_ = false;
};

// A loopback without IPv6 is there already, or this process may take ::1 off its own.
precondition_result loopback_without_ipv6_possible(boost::unit_test::test_unit_id) {
    if (!ipv6_loopback_is_up()) return true;
    precondition_result r(false);
    if (!has_own_network_namespace())
        r.message() << "::1 is up and this process has no network namespace of its own to take it off in "
                       "(own_network.hpp)";
    else if (::access(ipv6_loopback_off::setting, W_OK) != 0)
        r.message() << "::1 is up and " << ipv6_loopback_off::setting
                    << " is not writable here (root's only)";
    else
        return true;
    return r;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(udp)

BOOST_AUTO_TEST_CASE(each_data_is_one_datagram_and_back) {
    asio::io_context ioc;
    udp_echo echo(ioc.get_executor());
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 1, echo.port()));
        std::vector<bytes> const datagrams{pattern(1, 1), pattern(1400, 2), bytes{}, pattern(60000, 3),
                                           pattern(512, 4)};
        for (auto const& d : datagrams) peer->send(make_frame(msg_type::data, proto::udp, 1, echo.port(), d));
        auto connected = co_await expect_frame(*peer, msg_type::connected, 1);
        BOOST_TEST(static_cast<int>(connected.header.proto) == 1);
        for (auto const& d : datagrams) {
            auto back = co_await expect_frame(*peer, msg_type::data, 1);
            BOOST_TEST(static_cast<int>(back.header.proto) == 1);
            BOOST_TEST(back.header.port == echo.port());
            BOOST_TEST(back.payload.size() == d.size());
            BOOST_TEST(sha256_hex(back.payload) == sha256_hex(d));
        }
        BOOST_TEST(echo.datagrams() == datagrams.size());
    });
}

BOOST_AUTO_TEST_CASE(forwarded_udp_round_trips_through_the_emulator) {
    asio::io_context ioc;
    udp_echo echo(ioc.get_executor());
    runner::emulator emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0},
                         {{0, "c1", echo.port(), proto::udp}});
    emu.start();
    client_process client(client_args(emu.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        BOOST_REQUIRE(co_await emu.wait_for_client("c1", 10s));
        asio::ip::udp::socket user(ioc, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
        asio::ip::udp::endpoint const target(asio::ip::address_v4::loopback(), emu.forward_port(0));
        std::vector<std::uint8_t> buf(65536);
        for (std::uint32_t i = 0; i < 200; ++i) {
            auto const d = pattern(16 + (i * 97) % 8000, i);
            co_await user.async_send_to(asio::buffer(d), target, asio::use_awaitable);
            // One at a time with a deadline: loopback UDP does not lose a lone datagram.
            asio::steady_timer t(ioc, 5s);
            auto r = co_await (user.async_receive(asio::buffer(buf), asio::use_awaitable) ||
                               t.async_wait(asio::use_awaitable));
            BOOST_REQUIRE_MESSAGE(r.index() == 0, "no echo for datagram " << i);
            auto const n = std::get<0>(r);
            BOOST_REQUIRE_EQUAL(n, d.size());
            BOOST_REQUIRE(std::equal(d.begin(), d.end(), buf.begin()));
        }
    });
}

BOOST_AUTO_TEST_CASE(datagrams_that_queue_up_all_come_up_whole_and_in_order) {
    // The service sends a burst while the client is stopped, so that it finds more queued than
    // it reads in a row (32) when it resumes.
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    asio::ip::udp::socket service(ioc, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto const port = service.local_endpoint().port();
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 3, port));
        peer->send(make_frame(msg_type::data, proto::udp, 3, port, "go"));
        co_await expect_frame(*peer, msg_type::connected, 3);
        std::vector<std::uint8_t> buf(100);
        asio::ip::udp::endpoint from;
        co_await service.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);

        client.send_signal(SIGSTOP);
        co_await until_stopped(client.pid());
        std::vector<bytes> burst;
        for (std::uint32_t i = 0; i < 100; ++i) {
            burst.push_back(pattern(1 + (i * 37) % 300, i));  // ~1 KiB each in the socket buffer
            service.send_to(asio::buffer(burst.back()), from);
        }
        client.send_signal(SIGCONT);
        for (std::size_t i = 0; i < burst.size(); ++i) {
            auto back = co_await expect_frame(*peer, msg_type::data, 3);
            BOOST_REQUIRE_MESSAGE(sha256_hex(back.payload) == sha256_hex(burst[i]), "datagram " << i);
        }
        // Then the flow waits again, and the next datagram comes up alone.
        service.send_to(asio::buffer(std::string("after")), from);
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 3)).text() == "after");
        auto extra = co_await barrier(*peer, 99);
        BOOST_TEST(extra.empty());
    });
}

BOOST_AUTO_TEST_CASE(idle_flow_expires_with_close) {
    asio::io_context ioc;
    udp_echo echo(ioc.get_executor());
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--udp-idle-timeout", "0.5"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 4, echo.port()));
        peer->send(make_frame(msg_type::data, proto::udp, 4, echo.port(), "ping"));
        co_await expect_frame(*peer, msg_type::connected, 4);
        co_await expect_frame(*peer, msg_type::data, 4);
        auto const start = std::chrono::steady_clock::now();
        auto close = co_await expect_frame(*peer, msg_type::close, 4, scaled_for_build(5s));
        auto const idle = std::chrono::steady_clock::now() - start;
        BOOST_TEST(static_cast<int>(close.header.proto) == 1);
        BOOST_TEST((idle >= 400ms));
        BOOST_TEST((idle < scaled_for_build(3s)));
        // The id is gone: late DATA is ignored.
        peer->send(make_frame(msg_type::data, proto::udp, 4, echo.port(), "late"));
        auto extra = co_await barrier(*peer, 10);
        BOOST_TEST(extra.empty());
        BOOST_TEST(echo.datagrams() == 1u);
    });
}

BOOST_AUTO_TEST_CASE(traffic_keeps_a_flow_alive) {
    asio::io_context ioc;
    udp_echo echo(ioc.get_executor());
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--udp-idle-timeout", "0.6"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 5, echo.port()));
        co_await expect_frame(*peer, msg_type::connected, 5);
        // A datagram every 0.2 s for 1.6 s: never idle for 0.6 s.
        for (int i = 0; i < 8; ++i) {
            peer->send(make_frame(msg_type::data, proto::udp, 5, echo.port(), "tick"));
            BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 5)).text() == "tick");
            co_await pause(200ms);
        }
    });
}

// A flow to a port nothing listens on: the kernel answers with port unreachable, several times,
// and the flow must live through it (no CLOSE, no ERROR). Then the service comes up on
// 127.0.0.1: the same flow now works.
static void refused_flow_works_once_the_service_is_up() {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    auto const port = unused_udp_port();
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 6, port));
        co_await expect_frame(*peer, msg_type::connected, 6);
        for (int i = 0; i < 3; ++i) {
            peer->send(make_frame(msg_type::data, proto::udp, 6, port, "void"));
            auto extra = co_await barrier(*peer, 100 + static_cast<std::uint32_t>(i));
            BOOST_TEST(extra.empty());  // no CLOSE, no ERROR
        }
        asio::ip::udp::socket service(ioc, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), port));
        peer->send(make_frame(msg_type::data, proto::udp, 6, port, "now"));
        std::vector<std::uint8_t> buf(100);
        asio::ip::udp::endpoint from;
        auto n = co_await service.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
        BOOST_TEST(std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)) == "now");
        service.send_to(asio::buffer(std::string("reply")), from);
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 6)).text() == "reply");
    });
}

BOOST_AUTO_TEST_CASE(icmp_unreachable_does_not_end_the_flow) { refused_flow_works_once_the_service_is_up(); }

BOOST_AUTO_TEST_CASE(without_ipv6_on_loopback_a_refused_flow_stays_on_127_0_0_1,
                     *boost::unit_test::precondition(loopback_without_ipv6_possible)) {
    // Port unreachable makes the client try ::1; where there is none, the flow must go on on
    // 127.0.0.1 and work once the service comes up there.
    std::optional<ipv6_loopback_off> no_ipv6;
    if (ipv6_loopback_is_up()) {
        no_ipv6.emplace();
        BOOST_REQUIRE_MESSAGE(no_ipv6->active(),
                              "cannot turn IPv6 off on lo (" << ipv6_loopback_off::setting << ")");
    }
    BOOST_REQUIRE(!ipv6_loopback_is_up());
    refused_flow_works_once_the_service_is_up();
}

BOOST_AUTO_TEST_CASE(ipv6_only_udp_service_is_reached, *boost::unit_test::precondition(ipv6_on_loopback)) {
    asio::io_context ioc;
    udp_echo echo6(ioc.get_executor(), asio::ip::address_v6::loopback());
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1"));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::udp, 8, echo6.port()));
        peer->send(make_frame(msg_type::data, proto::udp, 8, echo6.port(), "query"));
        co_await expect_frame(*peer, msg_type::connected, 8);
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 8)).text() == "query");
        peer->send(make_frame(msg_type::data, proto::udp, 8, echo6.port(), "again"));
        BOOST_TEST((co_await expect_frame(*peer, msg_type::data, 8)).text() == "again");
        BOOST_TEST(echo6.datagrams() == 2u);  // each datagram once: no duplicates
    });
}

BOOST_AUTO_TEST_SUITE_END()
