#pragma once
// Turns --runner-url and --container-id into the tunnel endpoint {url}/ws/tunnel/{id}.

#include <string>
#include <string_view>
#include <variant>

#include "transport/ws_endpoint.hpp"

namespace tunnel {

using runner_endpoint = transport::ws_endpoint;

// Either the endpoint or a one-line reason why the URL or id is unusable.
std::variant<runner_endpoint, std::string> make_runner_endpoint(std::string_view runner_url,
                                                                std::string_view container_id);

}  // namespace tunnel
