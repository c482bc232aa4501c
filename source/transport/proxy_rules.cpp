#include "transport/proxy_rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/grammar/alpha_chars.hpp>
#include <boost/url/grammar/digit_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url.hpp>
#include <cstddef>
#include <cstdint>

#include "transport/ascii.hpp"

namespace tunnel::transport {

namespace {

namespace urls = boost::urls;
constexpr auto npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
    auto const blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

// 1..65535 as canonical decimal ("08080" -> "8080"); nullopt for anything else.
std::optional<std::string> canonical_port(std::string_view digits) {
    if (digits.empty()) return std::nullopt;
    unsigned long value = 0;
    for (char c : digits) {
        if (!is_digit(c)) return std::nullopt;
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (value > 65535) return std::nullopt;
    }
    if (value == 0) return std::nullopt;
    return std::to_string(value);
}

struct ip_address {
    int bits = 0;  // 32 or 128
    std::array<std::uint8_t, 16> bytes{};
};

// A literal address, compared as bytes so that "::1" and "0:0::1" are the same. No resolving.
std::optional<ip_address> parse_address(std::string_view text) {
    if (text.empty() || text.size() > 64) return std::nullopt;
    std::string const terminated(text);
    ip_address a;
    if (inet_pton(AF_INET, terminated.c_str(), a.bytes.data()) == 1) {
        a.bits = 32;
        return a;
    }
    if (inet_pton(AF_INET6, terminated.c_str(), a.bytes.data()) == 1) {
        a.bits = 128;
        return a;
    }
    return std::nullopt;
}

// Whether the first prefix bits of host and network agree (an IPv4 host never matches IPv6).
bool in_network(ip_address const& host, ip_address const& network, int prefix) {
    if (host.bits != network.bits) return false;
    int const whole = prefix / 8;
    for (int i = 0; i < whole; ++i)
        if (host.bytes[i] != network.bytes[i]) return false;
    if (prefix % 8 == 0) return true;
    auto const mask = static_cast<std::uint8_t>(0xFF << (8 - prefix % 8));
    return ((host.bytes[whole] ^ network.bytes[whole]) & mask) == 0;
}

// One NO_PROXY entry: either a name or an address with a prefix length, maybe with a port.
struct no_proxy_entry {
    std::string_view name;  // leading and trailing dot dropped
    std::optional<ip_address> address;
    int prefix = 0;
    std::string_view port;  // empty: every port
};

// nullopt for an entry that can match nothing ("name/8", "[::1", "host:").
std::optional<no_proxy_entry> parse_entry(std::string_view text) {
    no_proxy_entry e;
    std::string_view where = text;
    bool bracketed = false;
    if (text.front() == '[') {
        auto const close = text.find(']');
        if (close == npos) return std::nullopt;
        where = text.substr(1, close - 1);
        std::string_view const after = text.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':' || after.size() == 1) return std::nullopt;
            e.port = after.substr(1);
        }
        bracketed = true;
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        // One colon is a port; two or more are a bare IPv6 address, which cannot carry one.
        auto const colon = text.find(':');
        where = text.substr(0, colon);
        e.port = text.substr(colon + 1);
        if (e.port.empty()) return std::nullopt;
    }

    auto const slash = where.find('/');
    std::string_view const prefix = slash == npos ? std::string_view() : where.substr(slash + 1);
    if (slash != npos) where = where.substr(0, slash);
    if (auto address = parse_address(where)) {
        e.address = address;
        e.prefix = address->bits;
        if (slash != npos) {
            if (prefix.empty() || prefix.size() > 3 || !std::all_of(prefix.begin(), prefix.end(), is_digit))
                return std::nullopt;
            e.prefix = std::stoi(std::string(prefix));
            if (e.prefix > address->bits) return std::nullopt;
        }
        return e;
    }
    if (bracketed || slash != npos) return std::nullopt;  // a name is never a range: no resolving

    if (!where.empty() && where.back() == '.') where.remove_suffix(1);
    if (!where.empty() && where.front() == '.') where.remove_prefix(1);
    if (where.empty()) return std::nullopt;
    e.name = where;
    return e;
}

// "example.com" matches "example.com" and "a.example.com", not "badexample.com".
bool name_matches(std::string_view host, std::string_view pattern) {
    if (host.size() == pattern.size()) return iequals_ascii(host, pattern);
    if (host.size() < pattern.size()) return false;
    std::size_t const start = host.size() - pattern.size();
    return host[start - 1] == '.' && iequals_ascii(host.substr(start), pattern);
}

// RFC 3986's scheme, looked for before parsing: curl's rule (a scheme only in front of "://") is not
// RFC 3986's, in which "proxy:3128" has the scheme "proxy" and the path "3128".
bool is_scheme(std::string_view s) {
    static constexpr urls::grammar::lut_chars scheme_chars =
        urls::grammar::lut_chars(urls::grammar::alnum_chars) + "+-.";
    return !s.empty() && urls::grammar::alpha_chars(s.front()) &&
           std::all_of(s.begin(), s.end(), scheme_chars);
}

bool is_space_or_control(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; }

// For messages: a newline or escape sequence in the input must not reach the terminal or log as is.
std::string one_line(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), urls::grammar::digit_chars); }

// Boost.URL only says that an authority is invalid; this says which part is, for the message.
std::string_view why_authority_is_invalid(std::string_view authority) {
    if (!authority.empty() && authority.front() == '[') {
        auto const close = authority.find(']');
        if (close == npos) return "has an unclosed '['";
        std::string_view const after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return "has an invalid host";
        if (!after.empty() && !all_digits(after.substr(1))) return "has an invalid port";
        return "has an invalid IPv6 address";
    }
    auto const colon = authority.find(':');
    if (colon != npos && authority.find(':', colon + 1) != npos)
        return "has an IPv6 address without brackets or an invalid port";
    if (colon != npos && !all_digits(authority.substr(colon + 1))) return "has an invalid port";
    return "has an invalid host";
}

}  // namespace

std::string proxy_url::display() const { return "http://" + connect_target(host, port); }

std::string connect_target(std::string_view host, std::string_view port) {
    urls::url where;
    where.set_host_address(host).set_port(port);  // an IPv6 address gets its brackets (in shortest form)
    return std::string(where.encoded_host_and_port());
}

// Boost.URL parses the authority and decodes the credentials. The rest stays here: curl's scheme
// rule, the last '@' ending the credentials, and a reason naming the part at fault, which
// Boost.URL's errors ("leftover", "invalid") do not give.
std::variant<proxy_url, std::string> parse_proxy_url(std::string_view text) {
    std::string_view scheme;
    std::string_view rest = text;
    if (auto const sep = text.find("://"); sep != npos && is_scheme(text.substr(0, sep))) {
        scheme = text.substr(0, sep);
        rest = text.substr(sep + 3);
    }
    // Messages show the URL with everything up to the last '@' cut: whatever the URL's shape, no
    // part of a password reaches a log.
    auto const last_at = rest.rfind('@');
    std::string const shown = one_line(text.substr(0, text.size() - rest.size())) +
                              one_line(last_at == npos ? rest : rest.substr(last_at + 1));
    auto const fail = [&](std::string_view why) { return "proxy URL '" + shown + "' " + std::string(why); };

    if (!scheme.empty() && urls::string_to_scheme(scheme) != urls::scheme::http)
        return fail("uses " + one_line(scheme) + "://: only http:// proxies are supported");
    for (char c : text)
        if (is_space_or_control(c))
            return fail("contains a space or a control character (percent-encode it in the credentials)");

    auto const authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view const tail = authority_end == npos ? std::string_view() : rest.substr(authority_end);
    // A raw '/', '?' or '#' in a password would end the authority early and leave its '@' behind.
    if (tail.find('@') != npos)
        return fail("has a '/', '?' or '#' before its last '@' (percent-encode them)");
    std::string_view const path = tail.substr(0, tail.find_first_of("?#"));
    if (!path.empty() && path != "/") return fail("must not have a path");
    if (path.size() < tail.size())
        return fail(tail[path.size()] == '?' ? "must not have a query" : "must not have a fragment");

    proxy_url proxy;
    if (auto const at = authority.rfind('@'); at != npos) {
        // The last '@' ends the credentials, as in curl, so that a raw '@' in a password works;
        // RFC 3986, and so Boost.URL's URL parsers, would refuse it. Decoding them is Boost.URL's.
        auto const userinfo = urls::make_pct_string_view(authority.substr(0, at));
        if (!userinfo) return fail("has a malformed percent escape in its credentials");
        proxy.credentials = userinfo->decode();
        // "user@proxy": Basic still needs the colon (RFC 7617), with an empty password.
        if (!proxy.credentials.empty() && proxy.credentials.find(':') == std::string::npos)
            proxy.credentials += ':';
        authority = authority.substr(at + 1);
    }

    auto const parsed = urls::parse_authority(authority);
    if (!parsed) return fail(why_authority_is_invalid(authority));
    if (parsed->host_type() == urls::host_type::ipv6) {
        proxy.host = std::string(parsed->host_address());  // without the brackets
    } else if (parsed->host_type() == urls::host_type::ipvfuture) {
        return fail("has an invalid IPv6 address");
    } else {
        // A DNS name or an IPv4 address. RFC 3986 also lets a host name hold sub-delimiters and
        // percent escapes ("bad_host!", "prox%79"), which no resolver takes: refused.
        std::string_view const host = parsed->encoded_host();
        if (host.empty()) return fail("has no host");
        if (!std::all_of(host.begin(), host.end(), urls::unreserved_chars))
            return fail("has an invalid host");
        proxy.host = std::string(host);
    }

    // An empty port ("proxy:") is the default one (RFC 3986 3.2.3). Boost.URL has checked that the
    // port is digits; the range is checked here, as Boost 1.81's port_number() wraps above 65535
    // instead of failing (99999 gives 34463).
    proxy.port = "80";
    if (std::string_view const port = parsed->port(); !port.empty()) {
        auto canonical = canonical_port(port);
        if (!canonical) return fail("has an invalid port");
        proxy.port = std::move(*canonical);
    }
    return proxy;
}

std::optional<env_proxy> proxy_from_environment(bool tls, env_lookup const& getenv) {
    // curl's order: the scheme's own variable, then the catch-all; lower case first.
    static constexpr char const* for_tls[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    static constexpr char const* for_plain[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
    if (!getenv) return std::nullopt;
    for (char const* variable : tls ? for_tls : for_plain) {
        char const* value = getenv(variable);
        if (value && *value) return env_proxy{variable, value};
    }
    return std::nullopt;
}

std::optional<std::string> no_proxy_from_environment(env_lookup const& getenv) {
    if (!getenv) return std::nullopt;
    for (char const* variable : {"no_proxy", "NO_PROXY"}) {
        char const* value = getenv(variable);
        if (value && *value) return std::string(value);
    }
    return std::nullopt;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::string_view port) {
    if (trim(no_proxy) == "*") return true;  // only alone, as in curl: "*,a.com" is no wildcard
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) return false;
    auto const host_address = parse_address(host);
    if (!host_address && host.back() == '.') host.remove_suffix(1);
    auto const host_port = canonical_port(port);

    while (!no_proxy.empty()) {
        auto const comma = no_proxy.find(',');
        std::string_view const text = trim(no_proxy.substr(0, comma));
        no_proxy = comma == npos ? std::string_view() : no_proxy.substr(comma + 1);
        if (text.empty()) continue;
        auto const entry = parse_entry(text);
        if (!entry) continue;
        if (!entry->port.empty() && (!host_port || canonical_port(entry->port) != host_port)) continue;
        if (entry->address) {
            if (host_address && in_network(*host_address, *entry->address, entry->prefix)) return true;
        } else if (!host_address && name_matches(host, entry->name)) {
            return true;
        }
    }
    return false;
}

}  // namespace tunnel::transport
