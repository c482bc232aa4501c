// Port policy: --allow-ports / --deny-ports and --max-connections answer a CONNECT with ERROR
// before any local socket is opened; bad lists are usage errors.

#include <boost/test/unit_test.hpp>
#include <sstream>

#include "harness.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;

namespace {

std::string port_text(std::uint16_t port) { return std::to_string(port); }

void expect_usage_error(std::vector<std::string> extra, std::string const& mention) {
    client_process client(client_args(unused_tcp_port(), "c1", std::move(extra)));
    auto const code = client.wait_exit_blocking(10s);
    BOOST_REQUIRE_MESSAGE(code.has_value(), "tunnel-client did not exit on bad input");
    BOOST_TEST(*code == 2);
    std::istringstream in(client.log());
    std::string first;
    std::getline(in, first);
    BOOST_TEST(first.rfind("tunnel-client: error: ", 0) == 0u, first);
    BOOST_TEST(first.find(mention) != std::string::npos, first << " should mention " << mention);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(port_policy)

BOOST_AUTO_TEST_CASE(ports_outside_the_policy_get_error_and_no_socket) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    tcp_service denied(ioc.get_executor(), echo_handler);
    tcp_service unlisted(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1",
                                      {"--allow-ports", port_text(echo.port()) + "," + port_text(denied.port()),
                                       "--deny-ports", port_text(denied.port())}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, denied.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 1, denied.port(), "dropped"));
        auto e1 = co_await expect_frame(*peer, msg_type::error, 1);
        BOOST_TEST(e1.text() == "port " + port_text(denied.port()) + " not allowed");
        peer->send(make_frame(msg_type::connect, proto::udp, 2, unlisted.port()));
        auto e2 = co_await expect_frame(*peer, msg_type::error, 2);
        BOOST_TEST(e2.text() == "port " + port_text(unlisted.port()) + " not allowed");
        BOOST_TEST((e2.header.transport() == proto::udp));

        peer->send(make_frame(msg_type::connect, proto::tcp, 3, echo.port()));
        peer->send(make_frame(msg_type::data, proto::tcp, 3, echo.port(), "hello"));
        co_await expect_frame(*peer, msg_type::connected, 3);
        auto data = co_await expect_frame(*peer, msg_type::data, 3);
        BOOST_TEST(data.text() == "hello");
        auto extra = co_await barrier(*peer, 900);
        BOOST_TEST(extra.empty());
    });
    BOOST_TEST(denied.accepted() == 0u);
    BOOST_TEST(unlisted.accepted() == 0u);
    BOOST_TEST(client.log().find("not allowed") != std::string::npos, client.log());
}

BOOST_AUTO_TEST_CASE(connections_over_the_limit_get_error_until_one_ends) {
    asio::io_context ioc;
    tcp_service echo(ioc.get_executor(), echo_handler);
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(client_args(listener.port(), "c1", {"--max-connections", "2"}));
    auto const udp_port = unused_udp_port();
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        peer->send(make_frame(msg_type::connect, proto::tcp, 1, echo.port()));
        co_await expect_frame(*peer, msg_type::connected, 1);
        peer->send(make_frame(msg_type::connect, proto::udp, 2, udp_port));  // UDP flows count too
        co_await expect_frame(*peer, msg_type::connected, 2);
        peer->send(make_frame(msg_type::connect, proto::tcp, 3, echo.port()));
        auto refused = co_await expect_frame(*peer, msg_type::error, 3);
        BOOST_TEST(refused.text() == "too many connections");
        BOOST_TEST(echo.accepted() == 1u);  // no socket for the refused one

        // One ends: there is room again (the link is gone once its socket is closed).
        peer->send(make_frame(msg_type::close, proto::tcp, 1, echo.port()));
        auto const deadline = std::chrono::steady_clock::now() + 5s;
        for (std::uint32_t id = 10;; ++id) {
            BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no room after a CLOSE");
            peer->send(make_frame(msg_type::connect, proto::tcp, id, echo.port()));
            auto reply = co_await next_frame(*peer);
            BOOST_REQUIRE(reply.header.client_id == id);
            if (reply.type() == msg_type::connected) break;
            BOOST_REQUIRE((reply.type() == msg_type::error));
            co_await pause(20ms);  // paces the retries
        }
    });
    BOOST_TEST(client.log().find("too many connections") != std::string::npos, client.log());
}

BOOST_AUTO_TEST_CASE(bad_lists_and_limits_are_usage_errors) {
    expect_usage_error({"--allow-ports", "0"}, "--allow-ports");
    expect_usage_error({"--allow-ports", "22,"}, "empty entry");
    expect_usage_error({"--deny-ports", "9000-8000"}, "ends before it starts");
    expect_usage_error({"--deny-ports", "ssh"}, "'ssh'");
    expect_usage_error({"--max-connections", "-1"}, "--max-connections");
    expect_usage_error({"--max-connections", "many"}, "--max-connections");
}

BOOST_AUTO_TEST_SUITE_END()
