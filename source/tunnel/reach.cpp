#include "tunnel/reach.hpp"

#include "transport/http_headers.hpp"
#include "transport/proxy_rules.hpp"

namespace tunnel {

std::variant<reach_config, std::string> resolve_reach(reach_request const& request, runner_endpoint const& runner,
                                                      env_lookup const& getenv) {
    reach_config r;
    r.ca_file = request.ca_file;
    r.tls_server_name = request.tls_server_name;
    r.tls_cert = request.tls_cert;
    r.tls_key = request.tls_key;
    r.tls_insecure = request.tls_insecure;

    if (!r.tls_server_name.empty() &&
        r.tls_server_name.find_first_of(" \t\r\n/:@") != std::string::npos)
        return "--tls-server-name '" + r.tls_server_name + "' is not a host name";

    for (auto const& line : request.header_lines) {
        auto h = transport::parse_header(line);
        if (auto const* error = std::get_if<std::string>(&h)) return "--header: " + *error;
        r.headers.push_back(std::get<transport::http_header>(std::move(h)));
    }
    if (request.header_lines.empty() && request.header_list) {
        auto list = transport::parse_header_list(*request.header_list);
        if (auto const* error = std::get_if<std::string>(&list)) return "TUNNEL_HEADERS: " + *error;
        r.headers = std::get<std::vector<transport::http_header>>(std::move(list));
    }

    if (request.no_proxy) return r;
    std::optional<std::string> proxy = request.proxy;
    std::string origin = request.proxy_origin;
    if (!proxy) {
        if (auto from_env = transport::proxy_from_environment(runner.tls, getenv)) {
            proxy = from_env->value;
            origin = from_env->variable;
        }
    }
    if (!proxy) return r;
    auto parsed = transport::parse_proxy_url(*proxy);
    if (auto const* error = std::get_if<std::string>(&parsed)) return origin + ": " + *error;
    // NO_PROXY exempts the runner from any proxy, the --proxy one included (as curl does).
    if (auto exempt = transport::no_proxy_from_environment(getenv);
        exempt && transport::no_proxy_matches(*exempt, runner.host, runner.port)) {
        r.proxy_skipped = "NO_PROXY matches " + runner.host;
        return r;
    }
    r.proxy = std::get<transport::proxy_url>(std::move(parsed));
    r.proxy_origin = origin;
    return r;
}

}  // namespace tunnel
