#include "transport/proxy_rules.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

using namespace tunnel::transport;

namespace {
proxy_url ok(std::string_view url) {
    auto r = parse_proxy_url(url);
    auto const* error = std::get_if<std::string>(&r);
    BOOST_REQUIRE_MESSAGE(!error, url << ": " << (error ? *error : std::string()));
    return std::get<proxy_url>(r);
}
std::string bad(std::string_view url) {
    auto r = parse_proxy_url(url);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), url << " should be refused");
    return std::get<std::string>(r);
}
bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A fake environment: getenv answers from the map, nullptr for the rest.
env_lookup env(std::map<std::string, std::string> const& vars) {
    return [vars](char const* name) -> char const* {
        auto const it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}
std::string variable_for(bool tls, std::map<std::string, std::string> const& vars) {
    auto const found = proxy_from_environment(tls, env(vars));
    return found ? found->variable + "=" + found->value : "none";
}

bool exempt(std::string_view no_proxy, std::string_view host, std::string_view port = "443") {
    return no_proxy_matches(no_proxy, host, port);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(proxy_rules)

BOOST_AUTO_TEST_CASE(proxy_url_with_scheme_host_and_port) {
    auto const p = ok("http://proxy.corp:3128");
    BOOST_TEST(p.host == "proxy.corp");
    BOOST_TEST(p.port == "3128");
    BOOST_TEST(p.credentials.empty());
    BOOST_TEST(p.display() == "http://proxy.corp:3128");
    BOOST_TEST(ok("http://proxy.corp:3128/").port == "3128");
    BOOST_TEST(ok("HTTP://proxy.corp:3128").host == "proxy.corp");
}

BOOST_AUTO_TEST_CASE(proxy_url_defaults) {
    BOOST_TEST(ok("http://proxy").port == "80");
    BOOST_TEST(ok("http://proxy/").port == "80");
    BOOST_TEST(ok("http://proxy:").port == "80");  // an empty port is the default one (RFC 3986)
    auto const bare = ok("proxy.corp:8080");       // no scheme: http://, as curl does
    BOOST_TEST(bare.host == "proxy.corp");
    BOOST_TEST(bare.port == "8080");
    BOOST_TEST(ok("10.0.0.1").display() == "http://10.0.0.1:80");
    BOOST_TEST(ok("http://proxy:08080").port == "8080");
}

BOOST_AUTO_TEST_CASE(proxy_url_ipv6) {
    auto const p = ok("http://[::1]:3128");
    BOOST_TEST(p.host == "::1");
    BOOST_TEST(p.port == "3128");
    BOOST_TEST(p.display() == "http://[::1]:3128");
    BOOST_TEST(ok("[fd00::5]").display() == "http://[fd00::5]:80");
    BOOST_TEST(contains(bad("http://[::1"), "'['"));
    BOOST_TEST(contains(bad("http://[not-an-address]:80"), "invalid IPv6"));
    BOOST_TEST(contains(bad("http://[10.0.0.1]:80"), "invalid IPv6"));
    BOOST_TEST(contains(bad("http://[]:80"), "invalid IPv6"));
    BOOST_TEST(contains(bad("http://[::1]x"), "invalid host"));
    BOOST_TEST(contains(bad("http://::1:3128"), "brackets"));
}

BOOST_AUTO_TEST_CASE(proxy_url_credentials_are_decoded_and_never_shown) {
    auto const p = ok("http://alice:s3cr%40t%3A%2F@proxy:3128");
    BOOST_TEST(p.credentials == "alice:s3cr@t:/");
    BOOST_TEST(p.host == "proxy");
    BOOST_TEST(p.display() == "http://proxy:3128");
    BOOST_TEST(ok("http://bob@proxy").credentials == "bob:");  // Basic needs the colon
    BOOST_TEST(ok("alice:pw@proxy:1").credentials == "alice:pw");
    BOOST_TEST(ok("http://a:p@ss@proxy").credentials == "a:p@ss");  // the last '@' ends them
    BOOST_TEST(ok("http://@proxy").credentials.empty());

    // Every refusal names the URL without what comes before its last '@'.
    for (auto const* url :
         {"https://alice:hunter2@proxy:443", "socks5://alice:hunter2@proxy:1080",
          "http://alice:hunter2@proxy:0", "http://alice:hunter2@proxy:99999",
          "http://alice:hunter2@proxy/path", "http://alice:hunter2@proxy/?q", "http://alice:hunter2@proxy#f",
          "http://alice:hunter2@", "http://alice:hunter2%zz@proxy", "http://alice:hunter2@bad_host!",
          "http://alice:hunt/er2@proxy", "http://alice:hunt?er2@proxy", "http://alice:hunter2 @proxy",
          "http://alice:hunter2@[::1", "alice:hunt://er2@proxy", "http://alice:hunter2@[::1]:80a",
          "http://alice:hunter2@prox%79"}) {
        auto const error = bad(url);
        BOOST_TEST(!contains(error, "hunter2"), error);
        BOOST_TEST(!contains(error, "alice"), error);
        BOOST_TEST(contains(error, "proxy URL '"), error);
        BOOST_TEST(!contains(error, "\n"), error);
    }
    BOOST_TEST(contains(bad("http://alice:hunter2%zz@proxy"), "percent escape"));
    BOOST_TEST(contains(bad("http://alice:hunt/er2@proxy"), "percent-encode"));
    BOOST_TEST(contains(bad("http://a:b@proxy:0"), "'http://proxy:0'"));
}

BOOST_AUTO_TEST_CASE(proxy_url_credentials_percent_decoding) {
    auto const password = [](std::string const& encoded) {
        return ok("http://u:" + encoded + "@proxy").credentials.substr(2);
    };
    BOOST_TEST(password("p%40ss") == "p@ss");
    BOOST_TEST(password("a%3a%3Ab") == "a::b");
    BOOST_TEST(password("plain+text") == "plain+text");  // userinfo, not a form: '+' stays
    BOOST_TEST(password("") == "");
    BOOST_TEST(password("%25") == "%");
    BOOST_TEST(password("%00") == std::string(1, '\0'));
    BOOST_TEST(password("%e2%82%ac") == "\xe2\x82\xac");
    BOOST_TEST(password("[]!$&'()*+,;=") == "[]!$&'()*+,;=");   // taken as they are, as curl does
    BOOST_TEST(ok("http://a%3Ab@proxy").credentials == "a:b");  // a decoded ':' counts as the colon
    for (std::string const malformed : {"%", "%4", "a%", "%zz", "%4g", "%g4", "100%"})
        BOOST_TEST(contains(bad("http://u:" + malformed + "@proxy"), "percent escape"), malformed);
}

BOOST_AUTO_TEST_CASE(proxy_url_hosts_rfc3986_allows_but_a_resolver_does_not) {
    // Boost.URL takes these as RFC 3986 hosts; none is a DNS name or an address.
    BOOST_TEST(contains(bad("http://prox%79:3128"), "invalid host"));
    BOOST_TEST(contains(bad("http://a!b"), "invalid host"));
    BOOST_TEST(contains(bad("http://a;b=c:80"), "invalid host"));
    BOOST_TEST(contains(bad("http://[v1.x]:80"), "invalid IPv6"));
    BOOST_TEST(contains(bad("http://pr\xc3\xb8xy:80"), "invalid host"));
}

BOOST_AUTO_TEST_CASE(proxy_url_authority_edge_cases) {
    BOOST_TEST(ok("http://[::1]:").port == "80");
    BOOST_TEST(ok("http://[0:0::1]:3128").host == "0:0::1");
    BOOST_TEST(ok("http://[0:0::1]:3128").display() == "http://[::1]:3128");
    BOOST_TEST(ok("http://[::ffff:10.0.0.1]").host == "::ffff:10.0.0.1");
    BOOST_TEST(ok("http://PROXY.corp").host == "PROXY.corp");
    BOOST_TEST(contains(bad("http://[::1]:80a"), "invalid port"));
    BOOST_TEST(contains(bad("http://[::1]:99999"), "invalid port"));
    BOOST_TEST(contains(bad("http://[::1]:65536"), "invalid port"));
    BOOST_TEST(contains(bad("http://proxy:80:90"), "brackets"));
    BOOST_TEST(contains(bad("http://proxy:99999"), "invalid port"));  // Boost 1.81 port_number(): 34463
    BOOST_TEST(contains(bad("http://proxy:165536"), "invalid port"));
    BOOST_TEST(contains(bad("http://[::1%25eth0]:80"), "invalid IPv6"));
    BOOST_TEST(contains(bad("Http://[::1]x"), "invalid host"));
}

BOOST_AUTO_TEST_CASE(connect_target_brackets_ipv6_only) {
    BOOST_TEST(connect_target("::1", "443") == "[::1]:443");
    BOOST_TEST(connect_target("fd00:0::5", "8443") == "[fd00::5]:8443");
    BOOST_TEST(connect_target("::ffff:10.0.0.1", "1") == "[::ffff:10.0.0.1]:1");
    BOOST_TEST(connect_target("10.0.0.1", "80") == "10.0.0.1:80");
    BOOST_TEST(connect_target("runner.example", "8001") == "runner.example:8001");
}

BOOST_AUTO_TEST_CASE(proxy_url_scheme_rule_is_curls) {
    // A scheme only in front of "://": to RFC 3986 "proxy:3128" would be scheme "proxy".
    BOOST_TEST(ok("localhost:3128").host == "localhost");
    BOOST_TEST(ok("hTTp://proxy").host == "proxy");
    BOOST_TEST(ok("user:pw@proxy:3128").credentials == "user:pw");
    BOOST_TEST(contains(bad("1http://proxy"), "path"));  // no scheme: "1http:" is the authority
    BOOST_TEST(contains(bad("http+x://proxy"), "uses http+x://"));
}

BOOST_AUTO_TEST_CASE(proxy_url_other_schemes_are_refused) {
    for (auto const* url : {"https://proxy:443", "socks5://proxy:1080", "socks5h://proxy", "socks4://proxy"})
        BOOST_TEST(contains(bad(url), "only http:// proxies are supported"), url);
    BOOST_TEST(contains(bad("socks5://proxy:1080"), "'socks5://proxy:1080'"));
}

BOOST_AUTO_TEST_CASE(proxy_url_bad_parts_are_explained) {
    BOOST_TEST(contains(bad("http://"), "no host"));
    BOOST_TEST(contains(bad(""), "no host"));
    BOOST_TEST(contains(bad("http://:3128"), "no host"));
    BOOST_TEST(contains(bad("http://user:pw@:3128"), "no host"));
    for (auto const* url : {"http://proxy:0", "http://proxy:65536", "http://proxy:99999999999999999999",
                            "http://proxy:80a", "http://proxy:-1", "http://proxy:+80"})
        BOOST_TEST(contains(bad(url), "invalid port"), url);
    BOOST_TEST(ok("http://proxy:65535").port == "65535");
    BOOST_TEST(ok("http://proxy:1").port == "1");
    BOOST_TEST(contains(bad("http://proxy/path"), "path"));
    BOOST_TEST(contains(bad("http://proxy//"), "path"));
    BOOST_TEST(contains(bad("http://proxy:3128/x/"), "path"));
    BOOST_TEST(contains(bad("http://proxy?a=b"), "query"));
    BOOST_TEST(contains(bad("http://proxy/?"), "query"));
    BOOST_TEST(contains(bad("http://proxy#top"), "fragment"));
    BOOST_TEST(contains(bad("http://proxy/#"), "fragment"));
    BOOST_TEST(contains(bad("http://pro xy"), "space"));
    BOOST_TEST(contains(bad("http://proxy\n"), "control"));
    BOOST_TEST(!contains(bad("http://proxy\n"), "\n"));
    BOOST_TEST(contains(bad("http://bad_host!:80"), "invalid host"));
}

BOOST_AUTO_TEST_CASE(environment_lower_case_beats_upper_case) {
    BOOST_TEST(variable_for(true, {{"https_proxy", "a"}, {"HTTPS_PROXY", "b"}}) == "https_proxy=a");
    BOOST_TEST(variable_for(true, {{"HTTPS_PROXY", "b"}}) == "HTTPS_PROXY=b");
    BOOST_TEST(variable_for(false, {{"http_proxy", "a"}, {"HTTP_PROXY", "b"}}) == "http_proxy=a");
    BOOST_TEST(variable_for(false, {{"HTTP_PROXY", "b"}}) == "HTTP_PROXY=b");
    BOOST_TEST(variable_for(true, {{"all_proxy", "a"}, {"ALL_PROXY", "b"}}) == "all_proxy=a");
}

BOOST_AUTO_TEST_CASE(environment_scheme_variable_depends_on_tls) {
    std::map<std::string, std::string> const both{{"https_proxy", "s"}, {"http_proxy", "p"}};
    BOOST_TEST(variable_for(true, both) == "https_proxy=s");
    BOOST_TEST(variable_for(false, both) == "http_proxy=p");
    BOOST_TEST(variable_for(false, {{"https_proxy", "s"}, {"HTTPS_PROXY", "S"}}) == "none");
    BOOST_TEST(variable_for(true, {{"http_proxy", "p"}, {"HTTP_PROXY", "P"}}) == "none");
}

BOOST_AUTO_TEST_CASE(environment_all_proxy_is_the_fallback) {
    BOOST_TEST(variable_for(true, {{"ALL_PROXY", "all"}}) == "ALL_PROXY=all");
    BOOST_TEST(variable_for(false, {{"all_proxy", "all"}}) == "all_proxy=all");
    // The scheme's own variable wins over all_proxy, even in upper case.
    BOOST_TEST(variable_for(true, {{"HTTPS_PROXY", "s"}, {"all_proxy", "all"}}) == "HTTPS_PROXY=s");
    BOOST_TEST(variable_for(false, {{"HTTP_PROXY", "p"}, {"all_proxy", "all"}}) == "HTTP_PROXY=p");
    BOOST_TEST(variable_for(false, {}) == "none");
}

BOOST_AUTO_TEST_CASE(environment_empty_values_count_as_unset) {
    BOOST_TEST(variable_for(true, {{"https_proxy", ""}, {"HTTPS_PROXY", "b"}}) == "HTTPS_PROXY=b");
    BOOST_TEST(variable_for(true, {{"https_proxy", ""}, {"HTTPS_PROXY", ""}, {"all_proxy", "a"}}) ==
               "all_proxy=a");
    BOOST_TEST(variable_for(false, {{"http_proxy", ""}, {"all_proxy", ""}}) == "none");
}

BOOST_AUTO_TEST_CASE(environment_no_proxy) {
    BOOST_TEST(!no_proxy_from_environment(env({})));
    BOOST_TEST(*no_proxy_from_environment(env({{"no_proxy", "a"}, {"NO_PROXY", "b"}})) == "a");
    BOOST_TEST(*no_proxy_from_environment(env({{"NO_PROXY", "b"}})) == "b");
    BOOST_TEST(*no_proxy_from_environment(env({{"no_proxy", ""}, {"NO_PROXY", "b"}})) == "b");
    BOOST_TEST(!no_proxy_from_environment(env({{"no_proxy", ""}, {"NO_PROXY", ""}})));
}

BOOST_AUTO_TEST_CASE(no_proxy_star_alone_matches_everything) {
    BOOST_TEST(exempt("*", "example.com"));
    BOOST_TEST(exempt("*", "10.1.2.3"));
    BOOST_TEST(exempt("*", "::1"));
    BOOST_TEST(exempt(" * ", "example.com"));
    // As in curl, only alone: in a list it is a plain (matching nothing) name.
    BOOST_TEST(!exempt("*,other.com", "example.com"));
    BOOST_TEST(!exempt("*.example.com", "a.example.com"));
}

BOOST_AUTO_TEST_CASE(no_proxy_names_match_themselves_and_subdomains) {
    BOOST_TEST(exempt("example.com", "example.com"));
    BOOST_TEST(exempt("example.com", "a.example.com"));
    BOOST_TEST(exempt("example.com", "a.b.example.com"));
    BOOST_TEST(!exempt("example.com", "badexample.com"));
    BOOST_TEST(!exempt("example.com", "example.com.evil"));
    BOOST_TEST(!exempt("a.example.com", "example.com"));
    BOOST_TEST(!exempt("example.com", "example.org"));
    BOOST_TEST(exempt("localhost", "localhost"));
    BOOST_TEST(!exempt("localhost", "127.0.0.1"));  // no resolving
}

BOOST_AUTO_TEST_CASE(no_proxy_leading_dot_case_and_trailing_dot) {
    BOOST_TEST(exempt(".example.com", "example.com"));
    BOOST_TEST(exempt(".example.com", "a.example.com"));
    BOOST_TEST(!exempt(".example.com", "badexample.com"));
    BOOST_TEST(exempt("EXAMPLE.com", "a.Example.COM"));
    BOOST_TEST(exempt("example.com.", "a.example.com"));
    BOOST_TEST(exempt("example.com", "a.example.com."));
    BOOST_TEST(exempt(".example.com.", "example.com."));
    BOOST_TEST(!exempt(".", "example.com"));
}

BOOST_AUTO_TEST_CASE(no_proxy_ipv4_addresses_match_exactly) {
    BOOST_TEST(exempt("10.1.2.3", "10.1.2.3"));
    BOOST_TEST(!exempt("10.1.2.3", "10.1.2.30"));
    BOOST_TEST(!exempt("10.1.2.3", "110.1.2.3"));
    BOOST_TEST(!exempt("2.3", "10.1.2.3"));  // no suffix matching of addresses
    BOOST_TEST(!exempt("10.1.2.3", "host.10.1.2.3"));
}

BOOST_AUTO_TEST_CASE(no_proxy_ipv6_addresses_compare_as_addresses) {
    BOOST_TEST(exempt("::1", "::1"));
    BOOST_TEST(exempt("::1", "0:0::1"));
    BOOST_TEST(exempt("0:0:0:0:0:0:0:1", "::1"));
    BOOST_TEST(exempt("[::1]", "::1"));
    BOOST_TEST(exempt("FD00::AB", "fd00::ab"));
    BOOST_TEST(exempt("::1", "[::1]"));  // a bracketed host is tolerated
    BOOST_TEST(!exempt("::1", "::2"));
    BOOST_TEST(!exempt("::1", "localhost"));
    BOOST_TEST(!exempt("::ffff:10.1.2.3", "10.1.2.3"));  // families are not mixed
}

BOOST_AUTO_TEST_CASE(no_proxy_ipv4_cidr) {
    BOOST_TEST(exempt("10.0.0.0/8", "10.200.3.4"));
    BOOST_TEST(!exempt("10.0.0.0/8", "11.0.0.1"));
    BOOST_TEST(exempt("192.168.0.0/16", "192.168.255.1"));
    BOOST_TEST(!exempt("192.168.0.0/16", "192.169.0.1"));
    BOOST_TEST(exempt("172.16.0.0/12", "172.31.255.255"));
    BOOST_TEST(!exempt("172.16.0.0/12", "172.32.0.0"));
    BOOST_TEST(exempt("10.1.2.3/32", "10.1.2.3"));
    BOOST_TEST(!exempt("10.1.2.3/32", "10.1.2.4"));
    BOOST_TEST(exempt("0.0.0.0/0", "203.0.113.9"));  // every IPv4 address (curl: exact match)
    BOOST_TEST(!exempt("0.0.0.0/0", "::1"));
    BOOST_TEST(!exempt("10.0.0.0/33", "10.0.0.0"));
    BOOST_TEST(!exempt("10.0.0.0/", "10.0.0.0"));
    BOOST_TEST(!exempt("10.0.0.0/x", "10.0.0.0"));
}

BOOST_AUTO_TEST_CASE(no_proxy_ipv6_cidr) {
    BOOST_TEST(exempt("fd00::/8", "fd12:3456::1"));
    BOOST_TEST(!exempt("fd00::/8", "fe80::1"));
    BOOST_TEST(exempt("2001:db8::/32", "2001:db8:ffff::1"));
    BOOST_TEST(!exempt("2001:db8::/32", "2001:db9::1"));
    BOOST_TEST(exempt("2001:db8::/33", "2001:db8:7fff::1"));
    BOOST_TEST(!exempt("2001:db8::/33", "2001:db8:8000::1"));
    BOOST_TEST(exempt("::/0", "2001:db8::1"));
    BOOST_TEST(!exempt("::/0", "10.0.0.1"));
    BOOST_TEST(exempt("::1/128", "::1"));
    BOOST_TEST(!exempt("::1/128", "::2"));
    BOOST_TEST(exempt("[fd00::/8]", "fd00::1"));
    BOOST_TEST(!exempt("fd00::/129", "fd00::1"));
}

BOOST_AUTO_TEST_CASE(no_proxy_a_name_never_matches_a_cidr_entry) {
    BOOST_TEST(!exempt("10.0.0.0/8", "localhost"));
    BOOST_TEST(!exempt("10.0.0.0/8", "10.example.com"));
    BOOST_TEST(!exempt("example.com/8", "example.com"));
    BOOST_TEST(!exempt("fd00::/8", "fd00.example"));
}

BOOST_AUTO_TEST_CASE(no_proxy_entries_with_ports) {
    BOOST_TEST(exempt("example.com:8443", "example.com", "8443"));
    BOOST_TEST(exempt("example.com:8443", "a.example.com", "8443"));
    BOOST_TEST(!exempt("example.com:8443", "example.com", "443"));
    BOOST_TEST(exempt("[::1]:8080", "::1", "8080"));
    BOOST_TEST(!exempt("[::1]:8080", "::1", "8081"));
    BOOST_TEST(exempt("10.1.2.3:80", "10.1.2.3", "80"));
    BOOST_TEST(!exempt("10.1.2.3:80", "10.1.2.3", "443"));
    BOOST_TEST(exempt("10.0.0.0/8:80", "10.9.9.9", "80"));
    BOOST_TEST(exempt("example.com:080", "example.com", "80"));  // compared as numbers
    BOOST_TEST(!exempt("example.com:", "example.com", "80"));
    BOOST_TEST(!exempt("example.com:http", "example.com", "80"));
    BOOST_TEST(exempt("example.com", "example.com", "1"));  // no port: every port
    BOOST_TEST(exempt("::1", "::1", "8080"));               // a bare IPv6 entry has no port
}

BOOST_AUTO_TEST_CASE(no_proxy_lists_whitespace_and_empty_entries) {
    BOOST_TEST(exempt("a.com,example.com", "example.com"));
    BOOST_TEST(exempt("a.com, example.com ,b.com", "x.example.com"));
    BOOST_TEST(exempt("\texample.com\t", "example.com"));
    BOOST_TEST(exempt(",,example.com,,", "example.com"));
    BOOST_TEST(exempt("a.com,,10.0.0.0/8", "10.0.0.1"));
    BOOST_TEST(!exempt("a.com, b.com", "example.com"));
    BOOST_TEST(!exempt("", "example.com"));
    BOOST_TEST(!exempt(" , ,", "example.com"));
    BOOST_TEST(!exempt("example.com", ""));
    BOOST_TEST(!exempt("[::1", "::1"));  // a malformed entry matches nothing, the rest still counts
    BOOST_TEST(exempt("[::1,example.com", "example.com"));
}

BOOST_AUTO_TEST_CASE(no_proxy_malformed_entries_and_ports) {
    BOOST_TEST(!exempt("[::1]:", "::1", "80"));                // a colon without a port
    BOOST_TEST(!exempt("[::1]x", "::1", "80"));                // junk after the bracket
    BOOST_TEST(!exempt("example.com:0", "example.com", "0"));  // port 0 is no port
    BOOST_TEST(!exempt("example.com:99999", "example.com", "34463"));
    BOOST_TEST(exempt("example.com.:8443", "a.example.com", "8443"));
    BOOST_TEST(!exempt("[example.com]", "example.com"));  // brackets hold an address only
    BOOST_TEST(!exempt("10.0.0.0/8/8", "10.0.0.1"));
}

BOOST_AUTO_TEST_SUITE_END()
