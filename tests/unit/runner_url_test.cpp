#include "tunnel/runner_url.hpp"

#include <boost/test/unit_test.hpp>

#include "runner/forwarder.hpp"
#include "runner/tunnel_listener.hpp"

using namespace tunnel;

namespace {
runner_endpoint ok(std::string_view url, std::string_view id) {
    auto r = make_runner_endpoint(url, id);
    auto const* error = std::get_if<std::string>(&r);
    BOOST_REQUIRE_MESSAGE(!error, (error ? *error : std::string()));
    return std::get<runner_endpoint>(r);
}
std::string bad(std::string_view url, std::string_view id) {
    auto r = make_runner_endpoint(url, id);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), url << " should be refused");
    return std::get<std::string>(r);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(runner_url)

BOOST_AUTO_TEST_CASE(plain_ws_url) {
    auto const ep = ok("ws://192.0.2.10:8001", "abc123");
    BOOST_TEST(!ep.tls);
    BOOST_TEST(ep.host == "192.0.2.10");
    BOOST_TEST(ep.port == "8001");
    BOOST_TEST(ep.host_header == "192.0.2.10:8001");
    BOOST_TEST(ep.target == "/ws/tunnel/abc123");
    BOOST_TEST(ep.url() == "ws://192.0.2.10:8001/ws/tunnel/abc123");
}

BOOST_AUTO_TEST_CASE(trailing_slashes_are_removed) {
    BOOST_TEST(ok("ws://runner:8001/", "x").target == "/ws/tunnel/x");
    BOOST_TEST(ok("ws://runner:8001//", "x").target == "/ws/tunnel/x");
    BOOST_TEST(ok("ws://runner/prefix/", "x").target == "/prefix/ws/tunnel/x");
}

BOOST_AUTO_TEST_CASE(default_ports_and_tls) {
    auto const ws = ok("ws://runner", "x");
    BOOST_TEST(ws.port == "80");
    BOOST_TEST(ws.host_header == "runner");
    auto const wss = ok("wss://runner.example", "x");
    BOOST_TEST(wss.tls);
    BOOST_TEST(wss.port == "443");
}

BOOST_AUTO_TEST_CASE(http_schemes_map_to_websocket) {
    BOOST_TEST(!ok("http://runner:8001", "x").tls);
    BOOST_TEST(ok("https://runner:8443", "x").tls);
    BOOST_TEST(ok("WS://runner:8001", "x").port == "8001");
}

BOOST_AUTO_TEST_CASE(ipv6_literal) {
    auto const ep = ok("ws://[::1]:8001", "x");
    BOOST_TEST(ep.host == "::1");
    BOOST_TEST(ep.host_header == "[::1]:8001");
}

BOOST_AUTO_TEST_CASE(container_id_is_percent_encoded) {
    BOOST_TEST(ok("ws://r:1", "my container/1").target == "/ws/tunnel/my%20container%2F1");
    BOOST_TEST(ok("ws://r:1", "a-b_c.d~e").target == "/ws/tunnel/a-b_c.d~e");
    BOOST_TEST(ok("ws://r:1", "?#%").target == "/ws/tunnel/%3F%23%25");
    // Only unreserved characters go as they are, though a path segment could keep these.
    BOOST_TEST(ok("ws://r:1", "my:ctr;a+b@c!$&'()*,=").target ==
               "/ws/tunnel/my%3Actr%3Ba%2Bb%40c%21%24%26%27%28%29%2A%2C%3D");
    BOOST_TEST(ok("ws://r:1", "\xc3\xa9\x01").target == "/ws/tunnel/%C3%A9%01");
}

BOOST_AUTO_TEST_CASE(bad_urls_are_explained) {
    BOOST_TEST(bad("ftp://runner", "x").find("ws:// or wss://") != std::string::npos);
    BOOST_TEST(bad("runner:8001", "x").find("ws://") != std::string::npos);
    BOOST_TEST(bad("not a url", "x").find("ws:// or wss://") != std::string::npos);
    BOOST_TEST(bad("ws://bad host:1", "x").find("not a valid URL") != std::string::npos);
    BOOST_TEST(bad("ws://", "x").find("no host") != std::string::npos);
    BOOST_TEST(bad("ws://runner:99999", "x").size() > 0);
    BOOST_TEST(bad("ws://runner:8001", "").find("container id") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(credentials_in_the_url_are_kept_apart_and_never_shown) {
    auto const ep = ok("wss://alice:pa%40ss@runner:8443/base", "x");
    BOOST_TEST(ep.credentials == "alice:pa@ss");
    BOOST_TEST(ep.host == "runner");
    BOOST_TEST(ep.host_header == "runner:8443");
    BOOST_TEST(ep.url() == "wss://runner:8443/base/ws/tunnel/x");
    BOOST_TEST(ok("ws://bob@runner", "x").credentials == "bob:");
    BOOST_TEST(ok("ws://runner", "x").credentials.empty());
    // Errors quote the URL without the password.
    auto const e1 = bad("ftp://alice:hunter2@runner", "x");
    BOOST_TEST(e1.find("hunter2") == std::string::npos, e1);
    auto const e2 = bad("ws://alice:hunter2@runner:99999", "x");
    BOOST_TEST(e2.find("hunter2") == std::string::npos, e2);
    auto const e3 = bad("ws://alice:hunter2@bad host:1", "x");
    BOOST_TEST(e3.find("hunter2") == std::string::npos, e3);
    BOOST_TEST(bad("ws://:secret@runner", "x").find("no user name") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(credentials_in_the_url_are_percent_decoded) {
    BOOST_TEST(ok("ws://a+b:p+w%20x@runner", "x").credentials == "a+b:p+w x");  // '+' is no space here
    BOOST_TEST(ok("ws://%61lice:%25%3A%40@runner", "x").credentials == "alice:%:@");
    BOOST_TEST(ok("ws://alice:@runner", "x").credentials == "alice:");
    BOOST_TEST(ok("ws://alice:%e2%82%ac@runner", "x").credentials == "alice:\xe2\x82\xac");
    for (auto const* url :
         {"ws://alice:hunter2%zz@runner", "ws://alice:hunter2%4@runner", "ws://alice%g0:hunter2@runner"}) {
        auto const error = bad(url, "x");
        BOOST_TEST(error.find("not a valid URL") != std::string::npos, error);
        BOOST_TEST(error.find("hunter2") == std::string::npos, error);
    }
}

BOOST_AUTO_TEST_CASE(the_emulator_decodes_what_the_client_encodes) {
    auto const round_trip = [](std::string const& id) {
        return runner::tunnel_container_id(ok("ws://r:1", id).target).value_or("(refused)");
    };
    BOOST_TEST(round_trip("my container/1%") == "my container/1%");
    BOOST_TEST(round_trip("%25%zz") == "%25%zz");
    std::string every_byte;
    for (int c = 1; c < 256; ++c) {
        std::string const one(1, static_cast<char>(c));
        BOOST_TEST(round_trip(one) == one, "byte " << c);
        every_byte += one;
    }
    BOOST_TEST(round_trip(every_byte) == every_byte);
}

BOOST_AUTO_TEST_CASE(the_emulator_takes_only_its_tunnel_path) {
    BOOST_TEST(runner::tunnel_container_id("/ws/tunnel/c1").value_or("(refused)") == "c1");
    BOOST_TEST(runner::tunnel_container_id("/ws/tunnel/c1?token=x").value_or("(refused)") ==
               "c1");  // the query is not the id
    BOOST_TEST(runner::tunnel_container_id("/ws/tunnel/a%2Fb").value_or("(refused)") == "a/b");
    for (auto const* target : {"/ws/tunnel/", "/ws/tunnel", "/ws/tunnel/a/b", "/ws/tunnel/a/",
                               "/prefix/ws/tunnel/a", "/ws/other/a", "/", "", "ws/tunnel/a", "//ws/tunnel/a",
                               // malformed: refused rather than guessed at
                               "/ws/tunnel/bad%zz%4", "/ws/tunnel/a b", "/ws/tunnel/\xff"})
        BOOST_TEST(!runner::tunnel_container_id(target), target);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(forward_spec)

BOOST_AUTO_TEST_CASE(parses_tcp_and_udp) {
    auto tcp = runner::parse_forward("9000:demo:8080");
    BOOST_REQUIRE(tcp);
    BOOST_TEST(tcp->listen_port == 9000);
    BOOST_TEST(tcp->container_id == "demo");
    BOOST_TEST(tcp->target_port == 8080);
    BOOST_TEST(static_cast<int>(tcp->proto) == 0);
    auto udp = runner::parse_forward("9001:my:ctr:5353/udp");
    BOOST_REQUIRE(udp);
    BOOST_TEST(udp->container_id == "my:ctr");
    BOOST_TEST(static_cast<int>(udp->proto) == 1);
}

BOOST_AUTO_TEST_CASE(rejects_bad_specs) {
    for (auto const* text :
         {"", "9000", "9000:demo", "x:demo:80", "9000::80", "9000:demo:0", "9000:demo:70000"})
        BOOST_TEST(!runner::parse_forward(text), text);
}

BOOST_AUTO_TEST_SUITE_END()
