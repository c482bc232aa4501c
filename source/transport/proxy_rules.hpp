#pragma once
// Which HTTP proxy, if any, stands between the client and the runner: the proxy URL, the
// environment variables curl reads, and NO_PROXY. Pure rules, no I/O: the dialer applies them.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tunnel::transport {

struct proxy_url {
    std::string host;             // for the resolver: no brackets around IPv6
    std::string port;             // explicit, else "80"
    std::string credentials;      // "user:password", percent-decoded; empty when none
    std::string display() const;  // "http://host:port" (IPv6 in brackets), never the credentials: for logs
};

// The CONNECT request target for host and port (RFC 9110 9.3.6 authority-form): "host:port", an
// IPv6 address in brackets.
std::string connect_target(std::string_view host, std::string_view port);

// "http://[user:pass@]host[:port][/]"; a URL without a scheme is taken as http:// (as curl does).
// Either the proxy or a one-line reason that names the URL without its credentials.
std::variant<proxy_url, std::string> parse_proxy_url(std::string_view text);

// The variable that names the proxy for a runner URL: wss:// reads https_proxy, HTTPS_PROXY, then
// all_proxy, ALL_PROXY; ws:// reads http_proxy, HTTP_PROXY, then all_proxy, ALL_PROXY. Lower case
// wins; an empty value counts as unset.
struct env_proxy {
    std::string variable;
    std::string value;
};
using env_lookup = std::function<char const*(char const*)>;  // std::getenv, or a fake in tests
std::optional<env_proxy> proxy_from_environment(bool tls, env_lookup const& getenv);
// no_proxy, else NO_PROXY (empty counts as unset); nullopt when neither is set.
std::optional<std::string> no_proxy_from_environment(env_lookup const& getenv);

// Whether a NO_PROXY list exempts host:port (curl's rules, plus ports): comma-separated entries,
// "*" alone matches everything, a name matches itself and its subdomains, an address only itself,
// a CIDR range the addresses inside it, and an entry with a port only that port. host comes
// without brackets, port as decimal digits.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::string_view port);

}  // namespace tunnel::transport
