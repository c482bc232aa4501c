#pragma once
// From what the user gave (flags, environment) to how the runner is reached: headers checked,
// the proxy chosen (--proxy, else the environment as curl reads it) and NO_PROXY applied.

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tunnel/config.hpp"
#include "tunnel/runner_url.hpp"

namespace tunnel {

struct reach_request {
    std::string ca_file;
    std::string tls_server_name;
    std::string tls_cert;
    std::string tls_key;
    bool tls_insecure = false;
    std::vector<std::string> header_lines;  // --header, one "Name: value" each
    std::optional<std::string> header_list; // TUNNEL_HEADERS: newline-separated (when no --header)
    std::optional<std::string> proxy;       // --proxy / TUNNEL_PROXY
    std::string proxy_origin;               // which of the two, for errors and the log
    bool no_proxy = false;                  // --no-proxy: never a proxy
};

using env_lookup = std::function<char const*(char const*)>;

// Either the reach settings or a one-line reason (names the option, never a secret).
std::variant<reach_config, std::string> resolve_reach(reach_request const& request, runner_endpoint const& runner,
                                                      env_lookup const& getenv);

}  // namespace tunnel
