#include "app/options.hpp"
#include "cli/parse.hpp"

#include <boost/test/unit_test.hpp>
#include <map>

using namespace tunnel;
using namespace tunnel::app;
using namespace tunnel::cli;
using namespace std::chrono_literals;

namespace {

struct fake_env {
    std::map<std::string, std::string> vars;
    env_lookup lookup() const {
        return [this](char const* name) -> char const* {
            auto it = vars.find(name);
            return it == vars.end() ? nullptr : it->second.c_str();
        };
    }
};

parse_outcome parse(std::vector<std::string> args, fake_env const& env = {}) {
    std::vector<char const*> argv{"tunnel-client"};
    for (auto const& a : args) argv.push_back(a.c_str());
    return parse_options(static_cast<int>(argv.size()), argv.data(), env.lookup());
}

app_config parse_ok(std::vector<std::string> args, fake_env const& env = {}) {
    auto r = parse(std::move(args), env);
    BOOST_REQUIRE_MESSAGE(r.config, r.message);
    return *r.config;
}

void expect_bad(std::vector<std::string> args, std::string const& mention, fake_env const& env = {}) {
    auto r = parse(args, env);
    BOOST_TEST(!r.config);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.to_stderr);
    BOOST_TEST(r.message.find(mention) != std::string::npos,
               "'" << r.message << "' should mention '" << mention << "'");
    BOOST_TEST(r.message.rfind("tunnel-client: error: ", 0) == 0);
}

std::vector<std::string> const required{"-r", "ws://127.0.0.1:8001", "-c", "ctr"};

std::vector<std::string> with(std::vector<std::string> extra) {
    auto args = required;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_match_the_seed) {
    auto const cfg = parse_ok(required);
    BOOST_TEST(cfg.client.backoff.base.count() == 5000);
    BOOST_TEST(cfg.client.max_reconnect == 0u);
    BOOST_TEST((cfg.level == log_level::info));
    BOOST_TEST((cfg.format == log_format::text));
    BOOST_TEST(cfg.client.endpoint.target == "/ws/tunnel/ctr");
    BOOST_TEST(cfg.client.threads == 1u);
    BOOST_TEST(cfg.client.keepalive_timeout.count() == 30000);
    BOOST_TEST(cfg.client.udp_idle_timeout.count() == 60000);
    BOOST_TEST(cfg.busy_poll.count() == 50);
}

BOOST_AUTO_TEST_CASE(long_and_short_flags) {
    auto const cfg = parse_ok({"--runner-url",
                               "wss://r:9",
                               "--container-id",
                               "x",
                               "--reconnect-delay",
                               "0.5",
                               "--max-reconnect",
                               "3",
                               "--log-level",
                               "DEBUG",
                               "--log-format",
                               "json",
                               "--max-reconnect-delay",
                               "7",
                               "--connect-timeout",
                               "2",
                               "--keepalive-timeout",
                               "4",
                               "--udp-idle-timeout",
                               "1.5",
                               "--stall-timeout",
                               "3",
                               "--conn-buffer",
                               "8M",
                               "--threads",
                               "4",
                               "--busy-poll",
                               "0",
                               "--tls-insecure"});
    BOOST_TEST(cfg.client.endpoint.tls);
    BOOST_TEST(cfg.client.backoff.base.count() == 500);
    BOOST_TEST(cfg.client.backoff.cap.count() == 7000);
    BOOST_TEST(cfg.client.max_reconnect == 3u);
    BOOST_TEST((cfg.level == log_level::debug));
    BOOST_TEST((cfg.format == log_format::json));
    BOOST_TEST(cfg.client.connect_timeout.count() == 2000);
    BOOST_TEST(cfg.client.keepalive_timeout.count() == 4000);
    BOOST_TEST(cfg.client.udp_idle_timeout.count() == 1500);
    BOOST_TEST(cfg.client.stall_timeout.count() == 3000);
    BOOST_TEST(cfg.client.conn_buffer == 8u * 1024 * 1024);
    BOOST_TEST(cfg.client.threads == 4u);
    BOOST_TEST(cfg.busy_poll.count() == 0);
    BOOST_TEST(cfg.client.reach.tls_insecure);
}

BOOST_AUTO_TEST_CASE(environment_supplies_options) {
    fake_env env{{{"RUNNER_URL", "ws://envhost:1"},
                  {"CONTAINER_ID", "envid"},
                  {"RECONNECT_DELAY", "2"},
                  {"MAX_RECONNECT", "9"},
                  {"LOG_LEVEL", "warn"},
                  {"TUNNEL_THREADS", "2"},
                  {"TUNNEL_BUSY_POLL", "200"}}};
    auto const cfg = parse_ok({}, env);
    BOOST_TEST(cfg.client.endpoint.host == "envhost");
    BOOST_TEST(cfg.client.container_id == "envid");
    BOOST_TEST(cfg.client.backoff.base.count() == 2000);
    BOOST_TEST(cfg.client.max_reconnect == 9u);
    BOOST_TEST((cfg.level == log_level::warn));
    BOOST_TEST(cfg.client.threads == 2u);
    BOOST_TEST(cfg.busy_poll.count() == 200);
}

BOOST_AUTO_TEST_CASE(kohakuriver_variables_are_fallbacks) {
    fake_env env{{{"KOHAKURIVER_TUNNEL_URL", "ws://kr:8001"}, {"KOHAKURIVER_CONTAINER_ID", "krid"}}};
    auto const cfg = parse_ok({}, env);
    BOOST_TEST(cfg.client.endpoint.host == "kr");
    BOOST_TEST(cfg.client.container_id == "krid");
    env.vars["RUNNER_URL"] = "ws://preferred:1";
    BOOST_TEST(parse_ok({}, env).client.endpoint.host == "preferred");
}

BOOST_AUTO_TEST_CASE(command_line_beats_environment) {
    fake_env env{{{"RUNNER_URL", "ws://envhost:1"}, {"CONTAINER_ID", "envid"}, {"LOG_LEVEL", "nonsense"}}};
    auto const cfg = parse_ok({"-c", "flagid", "--log-level", "error"}, env);
    BOOST_TEST(cfg.client.container_id == "flagid");
    BOOST_TEST(cfg.client.endpoint.host == "envhost");
    BOOST_TEST((cfg.level == log_level::error));
}

BOOST_AUTO_TEST_CASE(help_and_version) {
    auto h = parse({"--help"});
    BOOST_TEST(!h.config);
    BOOST_TEST(h.exit_code == 0);
    BOOST_TEST(!h.to_stderr);
    BOOST_TEST(h.message.find("--runner-url") != std::string::npos);
    BOOST_TEST(h.message.find("KOHAKURIVER_TUNNEL_URL") != std::string::npos);
    auto v = parse({"-V"});
    BOOST_TEST(v.exit_code == 0);
    BOOST_TEST(v.message.find(TUNNEL_VERSION) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_values_are_named) {
    expect_bad({}, "missing runner URL");
    expect_bad({"-r", "ws://h:1"}, "missing container id");
    expect_bad({"-c", "x"}, "missing runner URL");
    expect_bad({"-r"}, "runner-url");
}

BOOST_AUTO_TEST_CASE(bad_urls_and_ids) {
    expect_bad({"-r", "ftp://h", "-c", "x"}, "ws:// or wss://");
    expect_bad({"-r", "h:8001", "-c", "x"}, "ws:// or wss://");
    expect_bad({"-r", "ws://h:1", "-c", ""}, "container id");
}

BOOST_AUTO_TEST_CASE(bad_numbers_are_named) {
    expect_bad(with({"--reconnect-delay", "abc"}), "--reconnect-delay");
    expect_bad(with({"--reconnect-delay", "-1"}), "-1");
    expect_bad(with({"--max-reconnect", "-3"}), "--max-reconnect");
    expect_bad(with({"--max-reconnect", "1.5"}), "whole number");
    expect_bad(with({"--threads", "0"}), "--threads");
    expect_bad(with({"--busy-poll", "1001"}), "from 0 to 1000");
    expect_bad(with({"--busy-poll", "-5"}), "--busy-poll");
    expect_bad(with({"--busy-poll", "50us"}), "--busy-poll");
    expect_bad(with({"--keepalive-timeout", "0"}), "positive");
    expect_bad(with({"--conn-buffer", "12Q"}), "--conn-buffer");
    expect_bad(with({"--conn-buffer", "1K"}), "at least 64K");
    expect_bad(with({"--udp-idle-timeout", "nan"}), "--udp-idle-timeout");
    fake_env env{{{"RECONNECT_DELAY", "soon"}}};
    expect_bad(required, "RECONNECT_DELAY", env);
}

BOOST_AUTO_TEST_CASE(bad_levels_and_flags) {
    expect_bad(with({"--log-level", "loud"}), "loud");
    expect_bad(with({"--log-format", "xml"}), "xml");
    expect_bad(with({"--bogus"}), "bogus");
    expect_bad(with({"stray"}), "stray");
    expect_bad(with({"--tls-insecure=maybe"}), "true or false");
}

BOOST_AUTO_TEST_CASE(reach_options_from_flags_and_environment) {
    auto const cfg = parse_ok(with({"--ca-file", "/ca.pem", "--tls-server-name", "runner.test", "--tls-cert", "/c.pem",
                                    "--tls-key", "/k.pem", "-H", "X-Token: abc", "--header", "X-Other:  two "}));
    auto const& r = cfg.client.reach;
    BOOST_TEST(r.ca_file == "/ca.pem");
    BOOST_TEST(r.tls_server_name == "runner.test");
    BOOST_TEST(r.tls_cert == "/c.pem");
    BOOST_TEST(r.tls_key == "/k.pem");
    BOOST_REQUIRE(r.headers.size() == 2u);
    BOOST_TEST(r.headers[1].name == "X-Other");
    BOOST_TEST(r.headers[1].value == "two");
    BOOST_TEST(!r.proxy);

    fake_env env;
    env.vars = {{"TUNNEL_HEADERS", "X-A: 1\nX-B: 2\n"}, {"TUNNEL_CA_FILE", "/env-ca.pem"}};
    auto const from_env = parse_ok(with({}), env).client.reach;
    BOOST_TEST(from_env.headers.size() == 2u);
    BOOST_TEST(from_env.ca_file == "/env-ca.pem");
    // --header replaces the environment's list, as every flag beats its variable.
    BOOST_TEST(parse_ok(with({"--header", "X-C: 3"}), env).client.reach.headers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(proxy_choice) {
    auto proxy_of = [](std::vector<std::string> extra, std::map<std::string, std::string> vars,
                       std::string url = "ws://runner.example:8001") {
        fake_env env;
        env.vars = std::move(vars);
        std::vector<std::string> args{"--runner-url", url, "--container-id", "c1"};
        args.insert(args.end(), extra.begin(), extra.end());
        return parse_ok(args, env).client.reach;
    };
    auto r = proxy_of({"--proxy", "http://u:p@proxy:3128"}, {});
    BOOST_REQUIRE(r.proxy);
    BOOST_TEST(r.proxy->host == "proxy");
    BOOST_TEST(r.proxy->port == "3128");
    BOOST_TEST(r.proxy->credentials == "u:p");
    BOOST_TEST(r.proxy_origin == "--proxy");
    // ws:// reads http_proxy, wss:// https_proxy; lower case first; all_proxy last.
    r = proxy_of({}, {{"http_proxy", "http://low:1"}, {"HTTP_PROXY", "http://up:2"}, {"https_proxy", "http://s:3"}});
    BOOST_TEST(r.proxy->host == "low");
    BOOST_TEST(r.proxy_origin == "http_proxy");
    r = proxy_of({}, {{"http_proxy", "http://low:1"}, {"https_proxy", "http://s:3"}}, "wss://runner.example");
    BOOST_TEST(r.proxy->host == "s");
    r = proxy_of({}, {{"ALL_PROXY", "http://all:4"}}, "wss://runner.example");
    BOOST_TEST(r.proxy->host == "all");
    // --proxy beats the environment; --no-proxy beats both.
    BOOST_TEST(proxy_of({"--proxy", "http://flag:5"}, {{"http_proxy", "http://env:1"}}).proxy->host == "flag");
    BOOST_TEST(!proxy_of({"--no-proxy"}, {{"http_proxy", "http://env:1"}}).proxy);
    BOOST_TEST(!proxy_of({"--proxy", "http://flag:5", "--no-proxy"}, {}).proxy);
    // NO_PROXY exempts the runner, from a --proxy too, and says why.
    r = proxy_of({"--proxy", "http://flag:5"}, {{"NO_PROXY", ".example"}});
    BOOST_TEST(!r.proxy);
    BOOST_TEST(r.proxy_skipped.find("NO_PROXY") != std::string::npos);
    BOOST_TEST(proxy_of({}, {{"http_proxy", "http://env:1"}, {"no_proxy", "other.test"}}).proxy.has_value());
}

BOOST_AUTO_TEST_CASE(bad_reach_options_are_named_without_secrets) {
    expect_bad(with({"--header", "NoColon"}), "header");
    expect_bad(with({"--header", "X-A: 1\r\nX-B: 2"}), "header");
    expect_bad(with({"--header", "Host: elsewhere"}), "Host");
    expect_bad(with({"--proxy", "socks5://127.0.0.1:1080"}), "http://");
    expect_bad(with({"--proxy", "http://127.0.0.1:99999"}), "--proxy");
    expect_bad(with({"--no-proxy=perhaps"}), "true or false");
    expect_bad(with({"--tls-server-name", "a b"}), "--tls-server-name");
    fake_env env;
    env.vars = {{"https_proxy", "ftp://user:hunter2@proxy"}};
    auto r = parse({"--runner-url", "wss://runner", "--container-id", "c"}, env);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.message.find("https_proxy") != std::string::npos, r.message);
    BOOST_TEST(r.message.find("hunter2") == std::string::npos, r.message);
    auto h = parse(with({"--header", "X-Token: sec\rret"}));
    BOOST_TEST(h.exit_code == 2);
    BOOST_TEST(h.message.find("sec") == std::string::npos, h.message);
}

BOOST_AUTO_TEST_CASE(port_policy_options) {
    auto const p = parse_ok(with({"--allow-ports", "22,80-90", "--deny-ports", "85", "--max-connections", "7"}))
                       .client.ports;
    BOOST_TEST(p.allow.size() == 2u);
    BOOST_TEST(p.deny.size() == 1u);
    BOOST_TEST(p.max_connections == 7u);
    BOOST_TEST(p.allows(80));
    BOOST_TEST(!p.allows(85));
    fake_env env;
    env.vars = {{"TUNNEL_ALLOW_PORTS", "443"}, {"TUNNEL_MAX_CONNECTIONS", "0"}};
    auto const e = parse_ok(with({}), env).client.ports;
    BOOST_TEST(e.allows(443));
    BOOST_TEST(!e.allows(80));
    BOOST_TEST(e.max_connections == 0u);
    BOOST_TEST(parse_ok(with({})).client.ports.allow.empty());
    expect_bad(with({"--allow-ports", "0"}), "--allow-ports");
    expect_bad(with({"--deny-ports", "2-1"}), "ends before it starts");
    expect_bad(with({"--max-connections", "x"}), "--max-connections");
}

BOOST_AUTO_TEST_CASE(number_parsers) {
    BOOST_TEST(parse_seconds("5")->count() == 5000);
    BOOST_TEST(parse_seconds("0.25")->count() == 250);
    BOOST_TEST(!parse_seconds(""));
    BOOST_TEST(!parse_seconds("1e3"));
    BOOST_TEST(!parse_seconds("-1"));
    BOOST_TEST(!parse_seconds("1.2.3"));
    BOOST_TEST(*parse_size("64K") == 65536u);
    BOOST_TEST(*parse_size("2MiB") == 2u * 1024 * 1024);
    BOOST_TEST(*parse_size("1000") == 1000u);
    BOOST_TEST(!parse_size("9999999999G"));
    BOOST_TEST(!parse_count("12345678901"));
}

BOOST_AUTO_TEST_CASE(size_parser_edge_cases) {
    auto const size = [](char const* text) { return parse_size(text).value_or(12345); };  // 12345: refused
    BOOST_TEST(size("0") == 0u);
    BOOST_TEST(size("1k") == 1024u);  // suffixes in any case
    BOOST_TEST(size("1kb") == 1024u);
    BOOST_TEST(size("1KiB") == 1024u);
    BOOST_TEST(size("3mb") == 3u * 1024 * 1024);
    BOOST_TEST(size("1g") == std::size_t{1} << 30);
    BOOST_TEST(size("2GiB") == std::size_t{2} << 30);
    BOOST_TEST(size("1024G") == std::size_t{1} << 40);  // the largest size taken: 1 TiB
    BOOST_TEST(!parse_size("1025G"));
    BOOST_TEST(size("999999999") == 999999999u);
    for (auto const* text :
         {"", "K", "KiB", "1.5M", "-1", "+1", " 1", "1 K", "1KK", "1T", "1B", "1Ki", "0x10", "1M2"})
        BOOST_TEST(!parse_size(text), "'" << text << "'");
}

BOOST_AUTO_TEST_CASE(replace_flag_and_the_commands_in_help) {
    BOOST_TEST(!parse_ok({"-r", "ws://h:1", "-c", "x"}).replace);
    BOOST_TEST(parse_ok({"-r", "ws://h:1", "-c", "x", "--replace"}).replace);
    BOOST_TEST(parse_ok({"-r", "ws://h:1", "-c", "x"}, fake_env{{{"TUNNEL_REPLACE", "yes"}}}).replace);
    BOOST_TEST(!parse_ok({"-r", "ws://h:1", "-c", "x", "--replace=false"}, fake_env{{{"TUNNEL_REPLACE", "1"}}}).replace);
    expect_bad({"-r", "ws://h:1", "-c", "x"}, "TUNNEL_REPLACE", fake_env{{{"TUNNEL_REPLACE", "perhaps"}}});
    auto const help = parse({"--help"}).message;
    BOOST_TEST(help.find("--replace") != std::string::npos);
    BOOST_TEST(help.find("tunnel-client status [--json] [-c ID]") != std::string::npos);
    BOOST_TEST(help.find("tunnel-client health [-c ID]") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
