#pragma once
// Turns --runner-url and --container-id into the tunnel endpoint {url}/ws/tunnel/{id}.

#include <string>
#include <string_view>
#include <variant>

namespace tunnel {

struct runner_endpoint {
    bool tls = false;         // wss:// (or https://)
    std::string host;         // for the resolver and TLS SNI: no brackets around IPv6
    std::string port;         // explicit or 80 / 443
    std::string host_header;  // Host: value, brackets kept, port only when explicit
    std::string target;       // request target: path + "/ws/tunnel/" + percent-encoded id [+ query]
    std::string url() const;  // for logs
};

// Either the endpoint or a one-line reason why the URL or id is unusable.
std::variant<runner_endpoint, std::string> make_runner_endpoint(std::string_view runner_url,
                                                                std::string_view container_id);

std::string percent_encode_segment(std::string_view s);

}  // namespace tunnel
