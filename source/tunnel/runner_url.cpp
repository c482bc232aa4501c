#include "tunnel/runner_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include "transport/http_headers.hpp"

namespace tunnel {

std::string percent_encode_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool const unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

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
    auto parsed = boost::urls::parse_uri(runner_url);
    if (!parsed) return "runner URL '" + without_userinfo(runner_url) + "' is not a valid URL";
    boost::urls::url_view const u = *parsed;
    // Errors quote the URL without its credentials (they may be secret).
    std::string shown(runner_url);
    if (u.has_userinfo()) {
        boost::urls::url safe(u);
        safe.remove_userinfo();
        shown = std::string(safe.buffer());
    }

    runner_endpoint ep;
    std::string scheme(u.scheme());
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == "ws" || scheme == "http") {
        ep.tls = false;
    } else if (scheme == "wss" || scheme == "https") {
        ep.tls = true;
    } else {
        return "runner URL '" + shown + "' must start with ws:// or wss://";
    }
    if (!u.has_authority() || u.encoded_host().empty())
        return "runner URL '" + shown + "' has no host";
    if (u.has_userinfo()) {
        auto user = transport::percent_decode(u.encoded_user());
        auto password = transport::percent_decode(u.encoded_password());
        if (!user || !password) return "runner URL '" + shown + "' has a malformed user name or password";
        if (user->empty()) return "runner URL '" + shown + "' has a password but no user name";
        ep.credentials = *user + ":" + *password;
    }
    if (u.has_fragment()) return "runner URL '" + shown + "' must not contain a fragment";

    if (u.host_type() == boost::urls::host_type::ipv6) {
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
    ep.target = path + "/ws/tunnel/" + percent_encode_segment(container_id);
    if (u.has_query()) ep.target += "?" + std::string(u.encoded_query());
    return ep;
}

}  // namespace tunnel
