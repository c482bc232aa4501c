#include "tunnel/runner_url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

namespace tunnel {

namespace urls = boost::urls;

namespace {
// For errors about URLs too broken to parse: drop anything between "//" and the last "@" before
// the path, where a password would be.
std::string without_userinfo(std::string_view url) {
    auto const start = url.find("//");
    if (start == std::string_view::npos) return std::string(url);
    auto const end = url.find_first_of("/?#", start + 2);
    auto const at = url.substr(0, end).rfind('@');
    if (at == std::string_view::npos || at < start) return std::string(url);
    return std::string(url.substr(0, start + 2)) + std::string(url.substr(at + 1));
}
}  // namespace

std::variant<runner_endpoint, std::string> make_runner_endpoint(std::string_view runner_url,
                                                                std::string_view container_id) {
    if (container_id.empty()) return std::string("container id is empty");
    if (runner_url.find("://") == std::string_view::npos)
        return "runner URL '" + without_userinfo(runner_url) + "' must start with ws:// or wss://";
    auto parsed = urls::parse_uri(runner_url);
    if (!parsed) return "runner URL '" + without_userinfo(runner_url) + "' is not a valid URL";
    urls::url_view const u = *parsed;
    // Errors quote the URL without its credentials (they may be secret).
    std::string shown(runner_url);
    if (u.has_userinfo()) {
        urls::url safe(u);
        safe.remove_userinfo();
        shown = std::string(safe.buffer());
    }

    runner_endpoint ep;
    auto const scheme = u.scheme_id();  // case-insensitive: "WS://" is ws
    if (scheme == urls::scheme::ws || scheme == urls::scheme::http) {
        ep.tls = false;
    } else if (scheme == urls::scheme::wss || scheme == urls::scheme::https) {
        ep.tls = true;
    } else {
        return "runner URL '" + shown + "' must start with ws:// or wss://";
    }
    if (!u.has_authority() || u.encoded_host().empty())
        return "runner URL '" + shown + "' has no host";
    if (u.has_userinfo()) {
        // user() and password() decode; parse_uri has refused malformed escapes already.
        if (u.encoded_user().empty()) return "runner URL '" + shown + "' has a password but no user name";
        ep.credentials = u.user() + ":" + u.password();
    }
    if (u.has_fragment()) return "runner URL '" + shown + "' must not contain a fragment";

    if (u.host_type() == urls::host_type::ipv6) {
        ep.host = u.host_ipv6_address().to_string();
    } else {
        ep.host = u.host();
    }
    ep.host_header = std::string(u.encoded_host_and_port());
    if (u.has_port()) {
        std::string const port(u.port());
        if (port.empty() || port.size() > 5 || std::stoul(port) == 0 || std::stoul(port) > 65535)
            return "runner URL '" + shown + "' has an invalid port";
        ep.port = std::to_string(std::stoul(port));
    } else {
        ep.port = ep.tls ? "443" : "80";
    }

    std::string path(u.encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    // Everything but RFC 3986's unreserved characters is escaped: a path segment could keep
    // sub-delimiters, ':' and '@' (pchars), but some servers and proxies give ';' or '+' a meaning,
    // and unreserved characters never have one. "/" in an id must not become a path separator.
    ep.target = path + "/ws/tunnel/" + urls::encode(container_id, urls::unreserved_chars);
    if (u.has_query()) ep.target += "?" + std::string(u.encoded_query());
    return ep;
}

}  // namespace tunnel
