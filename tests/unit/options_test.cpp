#include "app/options.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <optional>

#include "app/option_values.hpp"
#include "cli/parse.hpp"

extern char** environ;

using namespace tunnel;
using namespace tunnel::app;
using namespace tunnel::cli;
using namespace std::chrono_literals;

namespace {

using env_vars = std::map<std::string, std::string>;

// The process environment for one parse (Program_options reads the real one): the variables the
// client reads are saved and cleared, the given ones set, and everything restored at the end.
class scoped_environment {
public:
    explicit scoped_environment(env_vars const& vars) {
        for (char** e = environ; *e; ++e) {
            std::string const entry(*e);
            auto const eq = entry.find('=');
            auto const name = entry.substr(0, eq);
            if (read_by_the_client(name))
                saved_.emplace(name, eq == std::string::npos ? "" : entry.substr(eq + 1));
        }
        for (auto const& [name, value] : saved_) ::unsetenv(name.c_str());
        for (auto const& [name, value] : vars) {
            ::setenv(name.c_str(), value.c_str(), 1);
            set_.push_back(name);
        }
    }
    ~scoped_environment() {
        for (auto const& name : set_) ::unsetenv(name.c_str());
        for (auto const& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    }
    scoped_environment(scoped_environment const&) = delete;
    scoped_environment& operator=(scoped_environment const&) = delete;

private:
    static bool read_by_the_client(std::string const& name) {
        for (char const* exact :
             {"RUNNER_URL", "CONTAINER_ID", "RECONNECT_DELAY", "MAX_RECONNECT", "LOG_LEVEL"})
            if (name == exact) return true;
        auto const ends_with = [&](std::string_view tail) { return name.ends_with(tail); };
        return name.starts_with("TUNNEL_") || name.starts_with("KOHAKURIVER_") || ends_with("_proxy") ||
               ends_with("_PROXY");
    }
    std::map<std::string, std::string> saved_;
    std::vector<std::string> set_;
};

parse_outcome parse(std::vector<std::string> args, env_vars const& env = {}) {
    scoped_environment scope(env);
    std::vector<char const*> argv{"tunnel-client"};
    for (auto const& a : args) argv.push_back(a.c_str());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

app_config parse_ok(std::vector<std::string> args, env_vars const& env = {}) {
    auto r = parse(std::move(args), env);
    BOOST_REQUIRE_MESSAGE(r.config, r.message);
    return *r.config;
}

void expect_bad(std::vector<std::string> args, std::string const& mention, env_vars const& env = {}) {
    auto r = parse(args, env);
    BOOST_TEST(!r.config);
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.to_stderr);
    BOOST_TEST(r.message.find(mention) != std::string::npos,
               "'" << r.message << "' should mention '" << mention << "'");
    BOOST_TEST(r.message.rfind("tunnel-client: error: ", 0) == 0);
}

// The error's first line, which names the problem.
std::string first_line(parse_outcome const& r) { return r.message.substr(0, r.message.find('\n')); }

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
    env_vars const env{{"RUNNER_URL", "ws://envhost:1"}, {"CONTAINER_ID", "envid"}, {"RECONNECT_DELAY", "2"},
                       {"MAX_RECONNECT", "9"},           {"LOG_LEVEL", "warn"},     {"TUNNEL_THREADS", "2"},
                       {"TUNNEL_BUSY_POLL", "200"}};
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
    env_vars env{{"KOHAKURIVER_TUNNEL_URL", "ws://kr:8001"}, {"KOHAKURIVER_CONTAINER_ID", "krid"}};
    auto const cfg = parse_ok({}, env);
    BOOST_TEST(cfg.client.endpoint.host == "kr");
    BOOST_TEST(cfg.client.container_id == "krid");
    env["RUNNER_URL"] = "ws://preferred:1";
    BOOST_TEST(parse_ok({}, env).client.endpoint.host == "preferred");
}

BOOST_AUTO_TEST_CASE(command_line_beats_environment) {
    env_vars const env{
        {"RUNNER_URL", "ws://envhost:1"}, {"CONTAINER_ID", "envid"}, {"LOG_LEVEL", "nonsense"}};
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
    // The help (and the manual page made from it) says where the package puts the documentation.
    BOOST_TEST(h.message.find("Documentation: /usr/share/doc/tunnel-client/") != std::string::npos);
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
    expect_bad(required, "RECONNECT_DELAY", {{"RECONNECT_DELAY", "soon"}});
}

BOOST_AUTO_TEST_CASE(bad_levels_and_flags) {
    expect_bad(with({"--log-level", "loud"}), "loud");
    expect_bad(with({"--log-format", "xml"}), "xml");
    expect_bad(with({"--bogus"}), "bogus");
    expect_bad(with({"stray"}), "stray");
    expect_bad(with({"--tls-insecure=maybe"}), "true or false");
}

BOOST_AUTO_TEST_CASE(reach_options_from_flags_and_environment) {
    auto const cfg =
        parse_ok(with({"--ca-file", "/ca.pem", "--tls-server-name", "runner.test", "--tls-cert", "/c.pem",
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

    env_vars const env{{"TUNNEL_HEADERS", "X-A: 1\nX-B: 2\n"}, {"TUNNEL_CA_FILE", "/env-ca.pem"}};
    auto const from_env = parse_ok(with({}), env).client.reach;
    BOOST_TEST(from_env.headers.size() == 2u);
    BOOST_TEST(from_env.ca_file == "/env-ca.pem");
    // --header replaces the environment's list, as every flag beats its variable.
    BOOST_TEST(parse_ok(with({"--header", "X-C: 3"}), env).client.reach.headers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(proxy_choice) {
    auto proxy_of = [](std::vector<std::string> extra, env_vars const& env,
                       std::string url = "ws://runner.example:8001") {
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
    r = proxy_of(
        {}, {{"http_proxy", "http://low:1"}, {"HTTP_PROXY", "http://up:2"}, {"https_proxy", "http://s:3"}});
    BOOST_TEST(r.proxy->host == "low");
    BOOST_TEST(r.proxy_origin == "http_proxy");
    r = proxy_of({}, {{"http_proxy", "http://low:1"}, {"https_proxy", "http://s:3"}}, "wss://runner.example");
    BOOST_TEST(r.proxy->host == "s");
    r = proxy_of({}, {{"ALL_PROXY", "http://all:4"}}, "wss://runner.example");
    BOOST_TEST(r.proxy->host == "all");
    // --proxy beats the environment; --no-proxy beats both.
    BOOST_TEST(proxy_of({"--proxy", "http://flag:5"}, {{"http_proxy", "http://env:1"}}).proxy->host ==
               "flag");
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
    auto r = parse({"--runner-url", "wss://runner", "--container-id", "c"},
                   {{"https_proxy", "ftp://user:hunter2@proxy"}});
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.message.find("https_proxy") != std::string::npos, r.message);
    BOOST_TEST(r.message.find("hunter2") == std::string::npos, r.message);
    auto h = parse(with({"--header", "X-Token: sec\rret"}));
    BOOST_TEST(h.exit_code == 2);
    BOOST_TEST(h.message.find("sec") == std::string::npos, h.message);
}

BOOST_AUTO_TEST_CASE(port_policy_options) {
    auto const p =
        parse_ok(with({"--allow-ports", "22,80-90", "--deny-ports", "85", "--max-connections", "7"}))
            .client.ports;
    BOOST_TEST(p.allow.size() == 2u);
    BOOST_TEST(p.deny.size() == 1u);
    BOOST_TEST(p.max_connections == 7u);
    BOOST_TEST(p.allows(80));
    BOOST_TEST(!p.allows(85));
    auto const e =
        parse_ok(with({}), {{"TUNNEL_ALLOW_PORTS", "443"}, {"TUNNEL_MAX_CONNECTIONS", "0"}}).client.ports;
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
    BOOST_TEST(parse_ok({"-r", "ws://h:1", "-c", "x"}, {{"TUNNEL_REPLACE", "yes"}}).replace);
    BOOST_TEST(
        !parse_ok({"-r", "ws://h:1", "-c", "x", "--replace=false"}, {{"TUNNEL_REPLACE", "1"}}).replace);
    expect_bad({"-r", "ws://h:1", "-c", "x"}, "TUNNEL_REPLACE", {{"TUNNEL_REPLACE", "perhaps"}});
    auto const help = parse({"--help"}).message;
    BOOST_TEST(help.find("--replace") != std::string::npos);
    BOOST_TEST(help.find("tunnel-client status [--json] [-c ID]") != std::string::npos);
    BOOST_TEST(help.find("tunnel-client health [-c ID]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(validators_check_format_and_range) {
    using one_to_64 = whole_number<1, 64>;  // (no commas inside the test macros)
    using at_least_64k = byte_size<64 * 1024>;
    BOOST_TEST(parse_value<seconds_value>("0.25").value.count() == 250);
    BOOST_TEST(parse_value<seconds_value>("0").value.count() == 0);
    BOOST_CHECK_THROW(parse_value<seconds_value>("1e3"), invalid_value);
    BOOST_CHECK_THROW(parse_value<positive_seconds>("0"), invalid_value);
    BOOST_TEST(parse_value<positive_seconds>("0.001").value.count() == 1);
    BOOST_TEST(parse_value<one_to_64>("64").value == 64u);
    BOOST_CHECK_THROW(parse_value<one_to_64>("65"), invalid_value);
    BOOST_CHECK_THROW(parse_value<one_to_64>("0"), invalid_value);
    BOOST_CHECK_THROW(parse_value<whole_number<0>>("-1"), invalid_value);
    BOOST_TEST(parse_value<whole_number<0>>("999999999").value == 999999999u);
    BOOST_TEST(parse_value<at_least_64k>("64K").value == 65536u);
    BOOST_CHECK_THROW(parse_value<at_least_64k>("65535"), invalid_value);
    BOOST_CHECK_THROW(parse_value<byte_size<>>("12Q"), invalid_value);
    for (auto const* yes : {"1", "true", "TRUE", "yes", "On"})
        BOOST_TEST(parse_value<switch_value>(yes).value, yes);
    for (auto const* no : {"0", "false", "No", "off"}) BOOST_TEST(!parse_value<switch_value>(no).value, no);
    BOOST_CHECK_THROW(parse_value<switch_value>("maybe"), invalid_value);
    BOOST_CHECK_THROW(parse_value<switch_value>(""), invalid_value);
    BOOST_TEST(parse_value<port_list>("22, 80-90").value.size() == 2u);
    BOOST_CHECK_THROW(parse_value<port_list>("0"), invalid_value);
    BOOST_TEST((parse_value<level_value>("Warn").value == log_level::warn));
    BOOST_CHECK_THROW(parse_value<level_value>("loud"), invalid_value);
    BOOST_TEST((parse_value<format_value>("json").value == log_format::json));
    BOOST_CHECK_THROW(parse_value<format_value>("xml"), invalid_value);
    BOOST_TEST(parse_value<file_path>("/var/log/t.log").value == "/var/log/t.log");
    BOOST_CHECK_THROW(parse_value<file_path>(""), invalid_value);
    BOOST_CHECK_THROW(parse_value<file_path>("/var/log/"), invalid_value);
    BOOST_TEST(size_text(65536) == "64K");
    BOOST_TEST(size_text(4 * 1024 * 1024) == "4M");
    BOOST_TEST(size_text(1000) == "1000");
}

BOOST_AUTO_TEST_CASE(errors_name_the_flag_or_the_variable_on_one_line) {
    BOOST_TEST(
        first_line(parse(with({"--threads", "65"}))) ==
        "tunnel-client: error: invalid value '65' for --threads: expected a whole number from 1 to 64");
    BOOST_TEST(
        first_line(parse(required, {{"TUNNEL_THREADS", "65"}})) ==
        "tunnel-client: error: invalid value '65' for TUNNEL_THREADS: expected a whole number from 1 to 64");
    BOOST_TEST(
        first_line(parse(required, {{"RECONNECT_DELAY", "soon"}})) ==
        "tunnel-client: error: invalid value 'soon' for RECONNECT_DELAY: expected a non-negative number of "
        "seconds");
    // A short flag is named by its long name; a value from the environment stays on one line.
    BOOST_TEST(
        first_line(parse({"-r", "ws://h:1", "-c", "x", "--log-level", "lo\nud"})) ==
        "tunnel-client: error: invalid value 'lo?ud' for --log-level: expected trace, debug, info, warn, "
        "error or off");
    auto const r = parse(required, {{"TUNNEL_CONN_BUFFER", "1\n2"}});
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(first_line(r).find("'1?2' for TUNNEL_CONN_BUFFER") != std::string::npos, r.message);
    BOOST_TEST(r.message.find("Usage: tunnel-client") != std::string::npos);
    // Twice on the command line is an error, not a silent choice.
    expect_bad(with({"--threads", "2", "--threads", "3"}), "--threads");
    expect_bad(with({"--log-file", ""}), "a file path");
}

BOOST_AUTO_TEST_CASE(precedence_flag_then_variable_then_fallback_then_default) {
    env_vars const all{{"RUNNER_URL", "ws://primary:1"},
                       {"KOHAKURIVER_TUNNEL_URL", "ws://fallback:1"},
                       {"CONTAINER_ID", "primary-id"},
                       {"KOHAKURIVER_CONTAINER_ID", "fallback-id"},
                       {"RECONNECT_DELAY", "2"}};
    auto flagged = parse_ok({"-r", "ws://flag:1", "-c", "flag-id", "--reconnect-delay", "1"}, all);
    BOOST_TEST(flagged.client.endpoint.host == "flag");
    BOOST_TEST(flagged.client.container_id == "flag-id");
    BOOST_TEST(flagged.client.backoff.base.count() == 1000);
    auto from_env = parse_ok({}, all);
    BOOST_TEST(from_env.client.endpoint.host == "primary");
    BOOST_TEST(from_env.client.container_id == "primary-id");
    BOOST_TEST(from_env.client.backoff.base.count() == 2000);
    auto fallback =
        parse_ok({}, {{"KOHAKURIVER_TUNNEL_URL", "ws://fallback:1"}, {"KOHAKURIVER_CONTAINER_ID", "fb"}});
    BOOST_TEST(fallback.client.endpoint.host == "fallback");
    BOOST_TEST(fallback.client.container_id == "fb");
    BOOST_TEST(fallback.client.backoff.base.count() == 5000);  // the default
    // A bad variable behind its flag is never read.
    BOOST_TEST(parse_ok(with({"--threads", "2"}), {{"TUNNEL_THREADS", "0"}}).client.threads == 2u);
    // Where a value came from is kept for the log and for later checks.
    BOOST_TEST(parse_ok(with({}), {{"TUNNEL_PROXY", "http://p:3128"}}).client.reach.proxy_origin ==
               "TUNNEL_PROXY");
}

BOOST_AUTO_TEST_CASE(empty_variables_count_as_unset) {
    auto const cfg = parse_ok({}, {{"RUNNER_URL", ""},
                                   {"KOHAKURIVER_TUNNEL_URL", "ws://kr:1"},
                                   {"CONTAINER_ID", ""},
                                   {"KOHAKURIVER_CONTAINER_ID", "krid"},
                                   {"TUNNEL_THREADS", ""},
                                   {"LOG_LEVEL", ""},
                                   {"TUNNEL_TLS_INSECURE", ""},
                                   {"TUNNEL_HEADERS", ""},
                                   {"TUNNEL_LOG_FILE", ""}});
    BOOST_TEST(cfg.client.endpoint.host == "kr");
    BOOST_TEST(cfg.client.container_id == "krid");
    BOOST_TEST(cfg.client.threads == 1u);
    BOOST_TEST((cfg.level == log_level::info));
    BOOST_TEST(!cfg.client.reach.tls_insecure);
    BOOST_TEST(cfg.client.reach.headers.empty());
    BOOST_TEST(!cfg.log_file);
    expect_bad({}, "missing runner URL", {{"RUNNER_URL", ""}, {"CONTAINER_ID", "x"}});
}

BOOST_AUTO_TEST_CASE(checks_across_options_name_where_the_value_came_from) {
    BOOST_TEST(first_line(parse(with({"--session-buffer", "1M"}))) ==
               "tunnel-client: error: invalid value '1M' for --session-buffer: expected a size of at least "
               "--conn-buffer (4M)");
    expect_bad(required, "'8M' for TUNNEL_SESSION_BUFFER",
               {{"TUNNEL_SESSION_BUFFER", "8M"}, {"TUNNEL_CONN_BUFFER", "16M"}});
    auto const given = parse_ok(with({"--session-buffer", "64M"}));
    BOOST_TEST(given.session_buffer_given);
    BOOST_TEST(given.client.session_buffer == 64u * 1024 * 1024);
    BOOST_TEST(!parse_ok(required).session_buffer_given);
    // The reconnect cap is never below the first delay.
    BOOST_TEST(parse_ok(with({"--reconnect-delay", "90"})).client.backoff.cap.count() == 90000);
}

BOOST_AUTO_TEST_CASE(log_file_options) {
    BOOST_TEST(!parse_ok(required).log_file);
    auto const file = parse_ok(with({"--log-file", "/tmp/t.log"})).log_file;
    BOOST_REQUIRE(file);
    BOOST_TEST(file->path == "/tmp/t.log");
    BOOST_TEST(file->max_size == 10u * 1024 * 1024);
    BOOST_TEST(file->max_files == 3u);
    auto const tuned = parse_ok(with({"--log-max-size", "1M"}),
                                {{"TUNNEL_LOG_FILE", "/tmp/e.log"}, {"TUNNEL_LOG_MAX_FILES", "5"}});
    BOOST_REQUIRE(tuned.log_file);
    BOOST_TEST(tuned.log_file->path == "/tmp/e.log");
    BOOST_TEST(tuned.log_file->max_size == 1024u * 1024);
    BOOST_TEST(tuned.log_file->max_files == 5u);
    expect_bad(with({"--log-max-files", "1"}), "from 2 to 1000");
    expect_bad(with({"--log-max-size", "1K"}), "at least 16K");
}

BOOST_AUTO_TEST_CASE(help_lists_every_option_in_its_group_with_its_variables_and_default) {
    struct expected {
        char const* group;
        char const* option;
        std::vector<char const*> env;
        char const* default_text;  // "" when none is shown
    };
    std::vector<expected> const options{
        {"Runner", "--runner-url", {"RUNNER_URL", "KOHAKURIVER_TUNNEL_URL"}, ""},
        {"Runner", "--container-id", {"CONTAINER_ID", "KOHAKURIVER_CONTAINER_ID"}, ""},
        {"Runner", "--header", {"TUNNEL_HEADERS"}, ""},
        {"Runner", "--reconnect-delay", {"RECONNECT_DELAY"}, "default 5]"},
        {"Runner", "--max-reconnect-delay", {"TUNNEL_MAX_RECONNECT_DELAY"}, "default 60]"},
        {"Runner", "--max-reconnect", {"MAX_RECONNECT"}, "default 0]"},
        {"Runner", "--connect-timeout", {"TUNNEL_CONNECT_TIMEOUT"}, "default 10]"},
        {"Runner", "--keepalive-timeout", {"TUNNEL_KEEPALIVE_TIMEOUT"}, "default 30]"},
        {"TLS and proxy", "--tls-insecure", {"TUNNEL_TLS_INSECURE"}, "default false]"},
        {"TLS and proxy", "--ca-file", {"TUNNEL_CA_FILE"}, "default: SSL_CERT_FILE"},
        {"TLS and proxy", "--tls-server-name", {"TUNNEL_TLS_SERVER_NAME"}, "default: the URL's host]"},
        {"TLS and proxy", "--tls-cert", {"TUNNEL_TLS_CERT"}, ""},
        {"TLS and proxy", "--tls-key", {"TUNNEL_TLS_KEY"}, ""},
        {"TLS and proxy", "--proxy", {"TUNNEL_PROXY"}, "default: https_proxy/http_proxy/all_proxy]"},
        {"TLS and proxy", "--no-proxy", {"TUNNEL_NO_PROXY"}, "default false]"},
        {"Limits", "--allow-ports", {"TUNNEL_ALLOW_PORTS"}, "default: all]"},
        {"Limits", "--deny-ports", {"TUNNEL_DENY_PORTS"}, "default: none]"},
        {"Limits", "--max-connections", {"TUNNEL_MAX_CONNECTIONS"}, "default 0]"},
        {"Limits", "--conn-buffer", {"TUNNEL_CONN_BUFFER"}, "default 4M]"},
        {"Limits", "--session-buffer", {"TUNNEL_SESSION_BUFFER"}, "default: 1/8 of the memory limit"},
        {"Limits", "--udp-idle-timeout", {"TUNNEL_UDP_IDLE_TIMEOUT"}, "default 60]"},
        {"Limits", "--stall-timeout", {"TUNNEL_STALL_TIMEOUT"}, "default 10]"},
        {"Tuning", "--threads", {"TUNNEL_THREADS"}, "default 1]"},
        {"Tuning", "--busy-poll", {"TUNNEL_BUSY_POLL"}, "default 50]"},
        {"Logs", "--log-level", {"LOG_LEVEL"}, "default info]"},
        {"Logs", "--log-format", {"TUNNEL_LOG_FORMAT"}, "default text]"},
        {"Logs", "--log-file", {"TUNNEL_LOG_FILE"}, "default: stderr]"},
        {"Logs", "--log-max-size", {"TUNNEL_LOG_MAX_SIZE"}, "default 10M]"},
        {"Logs", "--log-max-files", {"TUNNEL_LOG_MAX_FILES"}, "default 3]"},
        {"Control", "--replace", {"TUNNEL_REPLACE"}, "default false]"},
    };
    auto const help = parse({"--help"}).message;
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < help.size();) {
        auto const end = help.find('\n', at);
        lines.push_back(help.substr(at, end - at));
        at = end == std::string::npos ? help.size() : end + 1;
    }
    // Each option line as help2man reads it: "  -x, --long VALUE" or "  --long VALUE", never the
    // library's own "-x [ --long ]"; its entry runs to the next option line, blank line or caption.
    auto const is_option_line = [](std::string const& l) { return l.starts_with("  -"); };
    std::map<std::string, std::pair<std::string, std::string>> entries;  // option -> (group, entry text)
    std::string group;
    std::size_t option_lines = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto const& l = lines[i];
        if (l.starts_with("Commands")) break;
        if (!l.empty() && l.back() == ':' && l.front() != ' ') group = l.substr(0, l.size() - 1);
        if (!is_option_line(l)) continue;
        ++option_lines;
        BOOST_TEST(l.find(" [ --") == std::string::npos, l);
        auto const long_at = l.find("--");
        auto const long_name = l.substr(long_at, l.find(' ', long_at) - long_at);
        std::string entry = l;
        for (std::size_t j = i + 1; j < lines.size() && lines[j].starts_with("    "); ++j)
            entry += "\n" + lines[j];
        entries[long_name] = {group, entry};
    }
    BOOST_TEST(option_lines == options.size() + 2);  // and --help, --version
    BOOST_TEST(entries.count("--help") == 1u);
    BOOST_TEST(entries.count("--version") == 1u);
    for (auto const& e : options) {
        BOOST_TEST_CONTEXT(e.option) {
            BOOST_REQUIRE(entries.count(e.option) == 1u);
            auto const& [in_group, entry] = entries.at(e.option);
            BOOST_TEST(in_group == e.group);
            std::string flattened = entry;
            std::replace(flattened.begin(), flattened.end(), '\n', ' ');
            flattened.erase(std::unique(flattened.begin(), flattened.end(),
                                        [](char a, char b) { return a == ' ' && b == ' '; }),
                            flattened.end());
            for (auto const* env : e.env) BOOST_TEST(flattened.find(env) != std::string::npos, entry);
            if (*e.default_text) BOOST_TEST(flattened.find(e.default_text) != std::string::npos, entry);
        }
    }
    BOOST_TEST(entries.at("--runner-url").second.starts_with("  -r, --runner-url URL "));
    BOOST_TEST(help.find("Usage: tunnel-client --runner-url URL --container-id ID [options]") !=
               std::string::npos);
    // The version names the machine the binary is for: the one it runs on (an emulated one too).
    struct utsname machine {};
    BOOST_REQUIRE(::uname(&machine) == 0);
    BOOST_TEST(parse({"--version"}).message ==
               "tunnel-client " TUNNEL_VERSION " (linux-" + std::string(machine.machine) + ")\n");
}

BOOST_AUTO_TEST_SUITE_END()
