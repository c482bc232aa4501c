// Reaching the runner from any image and network: which CA store a wss:// dial trusts (--ca-file,
// SSL_CERT_FILE, the well-known bundles of each distribution, tried in a chroot with nothing
// else), client certificates, the verified name, extra upgrade headers and URL credentials (never
// logged), HTTP proxies (a real tinyproxy: --proxy, the *_proxy variables, NO_PROXY, --no-proxy,
// proxy authentication) and the bad input that must stop the client at once.

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <sstream>

#include "harness.hpp"
#include "preconditions.hpp"
#include "runner/forwarder.hpp"
#include "test_pki.hpp"
#include "throwaway_root.hpp"
#include "tinyproxy.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::proto;

namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool contains(std::string const& text, std::string const& needle) {
    return text.find(needle) != std::string::npos;
}

// The log lines that contain every one of needles (in any case).
std::vector<std::string> lines_with(std::string const& log, std::vector<std::string> const& needles) {
    std::vector<std::string> out;
    for (auto const& line : lines_of(log)) {
        auto const l = lower(line);
        if (std::all_of(needles.begin(), needles.end(), [&](auto const& n) { return contains(l, lower(n)); }))
            out.push_back(line);
    }
    return out;
}

// The environment of every client here: nothing inherited from the test's environment picks a
// proxy, a CA store or an option (an empty value removes the variable); then `extra`.
std::map<std::string, std::string> env_with(std::map<std::string, std::string> const& extra = {}) {
    std::map<std::string, std::string> env;
    for (auto const* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                             "ALL_PROXY", "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
                             "TUNNEL_CA_FILE", "TUNNEL_TLS_SERVER_NAME", "TUNNEL_TLS_CERT", "TUNNEL_TLS_KEY",
                             "TUNNEL_HEADERS", "TUNNEL_PROXY", "TUNNEL_NO_PROXY", "TUNNEL_TLS_INSECURE"})
        env[name] = "";
    for (auto const& [k, v] : extra) env[k] = v;
    return env;
}

std::string ws_url(std::uint16_t port) { return "ws://127.0.0.1:" + std::to_string(port); }
std::string wss_url(std::uint16_t port) { return "wss://127.0.0.1:" + std::to_string(port); }

std::vector<std::string> args_for(std::string const& url, std::vector<std::string> const& extra = {}) {
    std::vector<std::string> args{"--runner-url",          url,     "--container-id",    "c1",
                                  "--log-level",           "debug", "--reconnect-delay", "0.2",
                                  "--max-reconnect-delay", "0.5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// The debug line `TLS trust ca_source=PATH ...` (the value may be quoted): exactly PATH, not a
// longer path that starts with it.
bool shows_ca_source(std::string const& log, std::string const& path) {
    for (auto const& prefix : {std::string("ca_source=") + path, std::string("ca_source=\"") + path}) {
        for (auto at = log.find(prefix); at != std::string::npos; at = log.find(prefix, at + 1)) {
            auto const end = at + prefix.size();
            if (end == log.size() || log[end] == ' ' || log[end] == '"' || log[end] == '\n') return true;
        }
    }
    return false;
}

runner::listener_options tls_options(std::shared_ptr<asio::ssl::context> ctx) {
    runner::listener_options o;
    o.tls = std::move(ctx);
    return o;
}

// The runner emulator forwarding a local port to an echo service "in the container" c1.
struct echo_runner {
    explicit echo_runner(runner::listener_options options = {})
        : emu(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0}, {{0, "c1", echo.port(), proto::tcp}},
              std::move(options)) {
        emu.start();
    }
    asio::io_context ioc;
    tcp_service echo{ioc.get_executor(), echo_handler};
    runner::emulator emu;
};

// The tunnel comes up and carries an echo, byte-exact.
asio::awaitable<void> expect_tunnel(runner::emulator& emu, client_process& client, std::uint32_t seed) {
    bool const up = co_await emu.wait_for_client("c1", 15s);
    BOOST_REQUIRE_MESSAGE(up, "the tunnel did not come up within 15 s; client log:\n" << client.log());
    auto s = co_await connect_tcp(emu.forward_port(0));
    auto const data = pattern(200000, seed);
    BOOST_TEST(co_await echo_round_trip(s, data) == sha256_hex(data));
}

// Waits until the client's log has `count` lines with every one of needles. (Callers name the
// vector first: GCC 12 rejects a braced list of string literals inside a co_await expression.)
asio::awaitable<void> expect_log_lines(client_process& client, std::vector<std::string> needles,
                                       std::size_t count, std::chrono::milliseconds timeout) {
    std::string what = std::to_string(count) + " log line(s) with";
    for (auto const& n : needles) what += " \"" + n + "\"";
    try {
        co_await wait_until([&] { return lines_with(client.log(), needles).size() >= count; }, timeout, what);
    } catch (std::exception const& e) {
        BOOST_FAIL(e.what() << "; client log:\n" << client.log());
    }
}

asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) co_return;
        auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
        if (wec) co_return;
    }
}

// A TCP relay to port (its tcp_service counts the client's dial attempts).
tcp_service::handler relay_to(std::uint16_t port) {
    return [port](tcp::socket in) -> asio::awaitable<void> {
        auto out = co_await connect_tcp(port);
        co_await (pipe(in, out) || pipe(out, in));
    };
}

// The header name (any case) and value of the peer's upgrade request, or nullopt.
std::optional<std::string> header_of(runner::tunnel_peer const& peer, std::string const& name) {
    for (auto const& [n, v] : peer.request_headers())
        if (lower(n) == lower(name)) return v;
    return std::nullopt;
}

// ---- CA stores in a throwaway root ---------------------------------------------------------

// A root with nothing but the client and the CA at `where` (or, for the certs directory, as
// /etc/ssl/certs/<hash>.0): the client finds it and says so.
void ca_found_in_root(std::string const& where, bool directory = false) {
    test_pki pki;
    throwaway_root root;
    if (directory)
        root.add_file(pki.ca_cert, where + "/" + pki.ca_subject_hash + ".0");
    else
        root.add_file(pki.ca_cert, where);
    echo_runner r(tls_options(pki.server_context(false)));
    auto client = root.run_client(args_for(wss_url(r.emu.port())), env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, *client, 11); }, 40s);
    BOOST_TEST(shows_ca_source(client->log(), where), "no ca_source=" << where << " in:\n" << client->log());
}

// ---- bad input ------------------------------------------------------------------------------

// The client exits 2 at once, its first line (stderr) naming the problem, and dials nothing: not
// the runner (a bare acceptor whose backlog stays empty, checked by the caller) and not a proxy.
// The default log level, as users meet it.
void expect_exit_2(std::string const& url, std::vector<std::string> const& extra, std::string const& mention,
                   std::map<std::string, std::string> const& env = {}) {
    std::vector<std::string> args{"--runner-url", url, "--container-id", "c1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string command = "tunnel-client";
    for (auto const& a : args) command += " " + a;
    for (auto const& [k, v] : env) command = k + "=" + v + " " + command;
    BOOST_TEST_CONTEXT(command) {
        client_process client(args, env_with(env));
        auto const code = client.wait_exit_blocking(10s);
        if (!code) {
            BOOST_ERROR("tunnel-client did not exit on bad input; log:\n" << client.log());
            return;
        }
        BOOST_TEST(*code == 2, "exit code " << *code << "; log:\n" << client.log());
        auto const lines = lines_of(client.log());
        if (lines.empty()) {
            BOOST_ERROR("nothing on stderr");
            return;
        }
        BOOST_TEST(lines.front().rfind("tunnel-client: error: ", 0) == 0u, client.log());
        BOOST_TEST(contains(lower(lines.front()), lower(mention)), lines.front()
                                                                       << " should mention " << mention);
        BOOST_TEST(lines_with(client.log(), {"error"}).size() == 1u, "one error line:\n" << client.log());
        BOOST_TEST(!contains(client.log(), "connecting"), client.log());
    }
}

// What more of the machine some cases need.
boost::unit_test::precondition const needs_throwaway_root(throwaway_root::usable);
boost::unit_test::precondition const needs_tinyproxy(tinyproxy_installed);

precondition_result static_client_built(boost::unit_test::test_unit_id) {
#ifdef TUNNEL_STATIC_CLIENT_PATH
    return true;
#else
    precondition_result r(false);
    r.message() << "the static client is built in the unsanitized presets only";
    return r;
#endif
}

// True when someone connected to the acceptor (the connection waits in its backlog).
bool dialled(tcp::acceptor& acceptor) {
    acceptor.non_blocking(true);
    boost::system::error_code ec;
    auto s = acceptor.accept(ec);
    return !ec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reach_runner)

// ---- trust ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(wss_with_ca_file_opens_the_tunnel) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false)));
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert}), env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 1); }, 30s);
    BOOST_TEST(shows_ca_source(client.log(), pki.ca_cert), client.log());
}

BOOST_AUTO_TEST_CASE(wss_with_tunnel_ca_file_env_opens_the_tunnel) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false)));
    client_process client(args_for(wss_url(r.emu.port())), env_with({{"TUNNEL_CA_FILE", pki.ca_cert}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 2); }, 30s);
    BOOST_TEST(shows_ca_source(client.log(), pki.ca_cert), client.log());
}

BOOST_AUTO_TEST_CASE(wss_with_ssl_cert_file_env_opens_the_tunnel) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false)));
    client_process client(args_for(wss_url(r.emu.port())), env_with({{"SSL_CERT_FILE", pki.ca_cert}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 3); }, 30s);
    BOOST_TEST(shows_ca_source(client.log(), pki.ca_cert), client.log());
}

BOOST_AUTO_TEST_CASE(ca_found_at_debian_location, *needs_throwaway_root) {
    ca_found_in_root("/etc/ssl/certs/ca-certificates.crt");
}
BOOST_AUTO_TEST_CASE(ca_found_at_alpine_location, *needs_throwaway_root) {
    ca_found_in_root("/etc/ssl/cert.pem");
}
BOOST_AUTO_TEST_CASE(ca_found_at_fedora_location, *needs_throwaway_root) {
    ca_found_in_root("/etc/pki/tls/certs/ca-bundle.crt");
}
BOOST_AUTO_TEST_CASE(ca_found_at_rhel_extracted_location, *needs_throwaway_root) {
    ca_found_in_root("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
}
BOOST_AUTO_TEST_CASE(ca_found_at_opensuse_location, *needs_throwaway_root) {
    ca_found_in_root("/etc/ssl/ca-bundle.pem");
}
BOOST_AUTO_TEST_CASE(ca_found_in_hashed_certs_directory, *needs_throwaway_root) {
    ca_found_in_root("/etc/ssl/certs", true);
}

BOOST_AUTO_TEST_CASE(no_ca_anywhere_is_a_usage_error_that_names_ca_file, *needs_throwaway_root) {
    // Nothing to verify the runner with can never get better by retrying: exit 2 at start.
    test_pki pki;
    throwaway_root root;
    echo_runner r(tls_options(pki.server_context(false)));
    auto client = root.run_client(args_for(wss_url(r.emu.port())), env_with());
    auto const code = client->wait_exit_blocking(10s);
    BOOST_REQUIRE_MESSAGE(code.has_value(), "the client did not exit");
    BOOST_TEST(*code == 2);
    auto const log = client->log();
    BOOST_TEST(lines_with(log, {"error", "no CA certificates", "--ca-file"}).size() == 1u, log);
    BOOST_TEST(r.emu.sessions_accepted() == 0u);
}

BOOST_AUTO_TEST_CASE(the_static_binary_runs_in_an_empty_root,
                     *boost::unit_test::precondition(static_client_built) * needs_throwaway_root) {
#ifdef TUNNEL_STATIC_CLIENT_PATH
    // Only the binary and /etc/hosts: no shared library, no CA store, nothing of the host's (but
    // the emulator that runs an arm64 client here, itself static).
    throwaway_root root(TUNNEL_STATIC_CLIENT_PATH);  // the constructor runs --version in it
    std::vector<std::string> expected{"/etc/hosts", "/tunnel-client"};
    if (emulator_path) expected.push_back(throwaway_root::emulator_in_root());
    std::sort(expected.begin(), expected.end());
    BOOST_TEST((root.files() == expected), "the root holds more than the binary and /etc/hosts");
    echo_runner r;
    auto client = root.run_client(args_for(ws_url(r.emu.port())), env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, *client, 31); }, 40s);
#endif
}

// ---- client certificates and names ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(mtls_with_client_certificate_opens_the_tunnel) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(true)));
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert, "--tls-cert",
                                                           pki.client_cert, "--tls-key", pki.client_key}),
                          env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 4); }, 30s);
}

BOOST_AUTO_TEST_CASE(mtls_from_env_opens_the_tunnel) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(true)));
    client_process client(args_for(wss_url(r.emu.port())), env_with({{"TUNNEL_CA_FILE", pki.ca_cert},
                                                                     {"TUNNEL_TLS_CERT", pki.client_cert},
                                                                     {"TUNNEL_TLS_KEY", pki.client_key}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 5); }, 30s);
}

BOOST_AUTO_TEST_CASE(mtls_without_client_certificate_never_opens) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(true)));
    tcp_service relay(r.ioc.get_executor(), relay_to(r.emu.port()));
    client_process client(args_for(wss_url(relay.port()), {"--ca-file", pki.ca_cert}), env_with());
    run_test(r.ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const needles{"cannot reach runner"};
        co_await expect_log_lines(client, needles, 2, 15s);
        co_await wait_until([&] { return relay.accepted() >= 2; }, 5s, "a second dial");
    });
    BOOST_TEST(r.emu.sessions_accepted() == 0u);
    auto const failures = lines_with(client.log(), {"cannot reach runner"});
    BOOST_REQUIRE(!failures.empty());
    auto const first = lower(failures.front());
    BOOST_TEST((contains(first, "tls") || contains(first, "ssl") || contains(first, "certificate")),
               "not a TLS failure: " << failures.front());
}

BOOST_AUTO_TEST_CASE(certificate_for_another_name_is_refused) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false, true)));
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert}), env_with());
    run_test(r.ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const needles{"cannot reach runner", "tls"};
        co_await expect_log_lines(client, needles, 2, 15s);
    });
    BOOST_TEST(r.emu.sessions_accepted() == 0u);
}

BOOST_AUTO_TEST_CASE(tls_server_name_selects_the_verified_name) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false, true)));
    client_process client(
        args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert, "--tls-server-name", "other.test"}),
        env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 6); }, 30s);
}

BOOST_AUTO_TEST_CASE(tls_server_name_from_env) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false, true)));
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert}),
                          env_with({{"TUNNEL_TLS_SERVER_NAME", "other.test"}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 7); }, 30s);
}

// ---- headers and credentials ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(headers_and_url_credentials_reach_the_runner_but_not_the_log) {
    asio::io_context ioc;
    runner::tunnel_listener listener(ioc.get_executor(), {asio::ip::address_v4::loopback(), 0});
    client_process client(args_for("ws://alice:pa%40ss@127.0.0.1:" + std::to_string(listener.port()),
                                   {"--header", "X-Token: s3cret-value", "--header", "X-Trace: trace-42"}),
                          env_with());
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto peer = co_await accept_peer(listener);
        BOOST_TEST(peer->container_id() == "c1");
        BOOST_TEST(header_of(*peer, "X-Token").value_or("<missing>") == "s3cret-value");
        BOOST_TEST(header_of(*peer, "X-Trace").value_or("<missing>") == "trace-42");
        BOOST_TEST(header_of(*peer, "Authorization").value_or("<missing>") == "Basic YWxpY2U6cGFAc3M=");
        // The names as sent.
        auto const& headers = peer->request_headers();
        BOOST_TEST(
            std::any_of(headers.begin(), headers.end(), [](auto const& h) { return h.first == "X-Token"; }));
        std::vector<std::string> const needles{"tunnel up"};
        co_await expect_log_lines(client, needles, 1, 10s);
        auto extra = co_await barrier(*peer, 1);  // the session runs
        BOOST_TEST(extra.empty());
    });
    auto const log = client.log();
    for (auto const* secret : {"s3cret-value", "pa@ss", "pa%40ss", "YWxpY2U6cGFAc3M="})
        BOOST_TEST(!contains(log, secret), "the log shows " << secret << ":\n" << log);
}

BOOST_AUTO_TEST_CASE(missing_required_header_is_refused_with_401_and_retried) {
    runner::listener_options options;
    options.required_headers = {{"X-Token", "s3cret-value"}};
    echo_runner r(options);
    tcp_service relay(r.ioc.get_executor(), relay_to(r.emu.port()));
    client_process client(args_for(ws_url(relay.port())), env_with());
    run_test(r.ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const needles{"cannot reach runner", "401"};
        co_await expect_log_lines(client, needles, 1, 10s);
        co_await wait_until([&] { return relay.accepted() >= 2; }, 10s, "a second upgrade attempt");
    });
    BOOST_TEST(r.emu.sessions_accepted() == 0u);
}

BOOST_AUTO_TEST_CASE(required_header_from_env_opens_the_tunnel) {
    runner::listener_options options;
    options.required_headers = {{"X-Token", "s3cret-value"}};
    echo_runner r(options);
    client_process client(args_for(ws_url(r.emu.port())),
                          env_with({{"TUNNEL_HEADERS", "X-Other: one\nX-Token: s3cret-value"}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 8); }, 30s);
    BOOST_TEST(!contains(client.log(), "s3cret-value"), client.log());
}

// ---- HTTP proxies (tinyproxy) ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(ws_through_proxy_option, *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(ws_url(r.emu.port()), {"--proxy", proxy.url()}), env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 21); }, 30s);
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    BOOST_TEST(proxy.connect_requests(target) >= 1u, "no CONNECT " << target << " in:\n" << proxy.log());
    BOOST_TEST(contains(client.log(), "proxy=" + proxy.url()), client.log());
}

BOOST_AUTO_TEST_CASE(wss_through_proxy_option, *needs_tinyproxy) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false)));
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert, "--proxy", proxy.url()}),
                          env_with());
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 22); }, 30s);
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    BOOST_TEST(proxy.connect_requests(target) >= 1u, "no CONNECT " << target << " in:\n" << proxy.log());
}

BOOST_AUTO_TEST_CASE(ws_through_http_proxy_env, *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(ws_url(r.emu.port())), env_with({{"http_proxy", proxy.url()}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 23); }, 30s);
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    BOOST_TEST(proxy.connect_requests(target) >= 1u, "no CONNECT " << target << " in:\n" << proxy.log());
    BOOST_TEST(contains(client.log(), "proxy=" + proxy.url()), client.log());
}

BOOST_AUTO_TEST_CASE(wss_through_https_proxy_env, *needs_tinyproxy) {
    test_pki pki;
    echo_runner r(tls_options(pki.server_context(false)));
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(wss_url(r.emu.port()), {"--ca-file", pki.ca_cert}),
                          env_with({{"https_proxy", proxy.url()}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 24); }, 30s);
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    BOOST_TEST(proxy.connect_requests(target) >= 1u, "no CONNECT " << target << " in:\n" << proxy.log());
}

BOOST_AUTO_TEST_CASE(no_proxy_env_bypasses_the_proxy, *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(ws_url(r.emu.port())),
                          env_with({{"http_proxy", proxy.url()}, {"NO_PROXY", "127.0.0.1"}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 25); }, 30s);
    BOOST_TEST(proxy.connections() == 0u, "the proxy was used:\n" << proxy.log());
}

BOOST_AUTO_TEST_CASE(no_proxy_option_bypasses_the_proxy, *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()});
    client_process client(args_for(ws_url(r.emu.port()), {"--no-proxy"}),
                          env_with({{"http_proxy", proxy.url()}}));
    run_test(
        r.ioc, [&]() -> asio::awaitable<void> { co_await expect_tunnel(r.emu, client, 26); }, 30s);
    BOOST_TEST(proxy.connections() == 0u, "the proxy was used:\n" << proxy.log());
}

BOOST_AUTO_TEST_CASE(proxy_asking_for_credentials_is_reported_and_retried, *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()}, std::pair<std::string, std::string>{"user", "password"});
    client_process client(args_for(ws_url(r.emu.port()), {"--proxy", proxy.url()}), env_with());
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    run_test(r.ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const needles{"cannot reach runner", "proxy", "407"};
        co_await expect_log_lines(client, needles, 1, 10s);
        co_await wait_until([&] { return proxy.connect_requests(target) >= 2; }, 10s,
                            "a second CONNECT through the proxy");
    });
    BOOST_TEST(r.emu.sessions_accepted() == 0u);
    auto const warn = lines_with(client.log(), {"cannot reach runner", "407"});
    BOOST_REQUIRE(!warn.empty());
    BOOST_TEST(contains(warn.front(), "WARN"), warn.front());
}

BOOST_AUTO_TEST_CASE(a_proxy_that_never_answers_is_bounded_by_the_connect_timeout) {
    // Accepts the client's connection and its CONNECT, then says nothing.
    asio::io_context ioc;
    tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::vector<tcp::socket> held;
    auto const proxy = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    client_process client(args_for(ws_url(unused_tcp_port()), {"--proxy", proxy, "--connect-timeout", "1"}),
                          env_with());
    run_test(ioc, [&]() -> asio::awaitable<void> {
        auto const start = std::chrono::steady_clock::now();
        held.push_back(co_await silent.async_accept(asio::use_awaitable));
        std::vector<std::string> const needles{"cannot reach runner", "proxy", "timed out"};
        co_await expect_log_lines(client, needles, 1, scaled_for_build(5s));
        BOOST_TEST((std::chrono::steady_clock::now() - start < scaled_for_build(3s)));
        held.push_back(co_await silent.async_accept(asio::use_awaitable));  // and it tries again
    });
}

BOOST_AUTO_TEST_CASE(proxy_credentials_from_the_url_open_the_tunnel_and_stay_out_of_the_log,
                     *needs_tinyproxy) {
    echo_runner r;
    tinyproxy proxy({r.emu.port()}, std::pair<std::string, std::string>{"user", "password"});
    auto const with_credentials = "http://user:password@127.0.0.1:" + std::to_string(proxy.port());
    client_process client(args_for(ws_url(r.emu.port()), {"--proxy", with_credentials}), env_with());
    run_test(
        r.ioc,
        [&]() -> asio::awaitable<void> {
            co_await expect_tunnel(r.emu, client, 27);
            // (Info lines reach the log a few milliseconds late.)
            co_await wait_until([&] { return contains(client.log(), "proxy=" + proxy.url()); }, 5s,
                                "the proxy named in the log");
        },
        30s);
    auto const target = "127.0.0.1:" + std::to_string(r.emu.port());
    BOOST_TEST(proxy.connect_requests(target) >= 1u, proxy.log());
    auto const log = client.log();
    BOOST_TEST(!contains(log, "password"), log);
    BOOST_TEST(!contains(log, "dXNlcjpwYXNzd29yZA=="), log);  // base64("user:password")
}

// ---- bad input ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_tls_files_exit_2_naming_the_file) {
    test_pki pki;
    asio::io_context ioc;
    tcp::acceptor runner(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto const url = wss_url(runner.local_endpoint().port());
    expect_exit_2(url, {"--ca-file", "/nonexistent/ca.pem"}, "/nonexistent/ca.pem");
    expect_exit_2(url, {"--ca-file", pki.garbage}, pki.garbage);
    expect_exit_2(url, {}, pki.garbage, {{"TUNNEL_CA_FILE", pki.garbage}});
    expect_exit_2(url, {"--ca-file", pki.ca_cert, "--tls-cert", pki.client_cert}, "--tls-key");
    expect_exit_2(url, {"--ca-file", pki.ca_cert, "--tls-cert", pki.client_cert, "--tls-key", pki.garbage},
                  pki.garbage);
    expect_exit_2(url, {"--ca-file", pki.ca_cert, "--tls-cert", pki.garbage, "--tls-key", pki.client_key},
                  pki.garbage);
    BOOST_TEST(!dialled(runner));
}

BOOST_AUTO_TEST_CASE(bad_headers_exit_2) {
    asio::io_context ioc;
    tcp::acceptor runner(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto const url = ws_url(runner.local_endpoint().port());
    expect_exit_2(url, {"--header", "NoColon"}, "header");
    expect_exit_2(url, {"--header", "X-A: 1\r\nX-B: 2"}, "header");
    expect_exit_2(url, {"--header", "X-A: 1\rX-B: 2"}, "header");
    expect_exit_2(url, {}, "TUNNEL_HEADERS", {{"TUNNEL_HEADERS", "X-A: 1\rX-B: 2"}});
    // One --header is one header: a line break inside it is malformed (the env list may use CRLF).
    expect_exit_2(url, {"--header", "X-A: 1\nX-B: 2"}, "header");
    BOOST_TEST(!dialled(runner));
}

BOOST_AUTO_TEST_CASE(bad_proxies_exit_2) {
    asio::io_context ioc;
    tcp::acceptor runner(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::acceptor proxy(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto const url = ws_url(runner.local_endpoint().port());
    expect_exit_2(url, {"--proxy", "socks5://127.0.0.1:" + std::to_string(proxy.local_endpoint().port())},
                  "proxy");
    expect_exit_2(url, {"--proxy", "http://127.0.0.1:99999"}, "proxy");
    expect_exit_2(url, {}, "proxy", {{"TUNNEL_PROXY", "socks5://127.0.0.1:1"}});
    BOOST_TEST(!dialled(runner));
    BOOST_TEST(!dialled(proxy));
}

BOOST_AUTO_TEST_SUITE_END()
