#pragma once
// Where a WebSocket server is: what the resolver, TLS and the upgrade request need.

#include <string>

namespace tunnel::transport {

struct ws_endpoint {
    bool tls = false;         // wss://
    std::string host;         // for the resolver and TLS SNI: no brackets around IPv6
    std::string port;         // explicit or 80 / 443
    std::string host_header;  // Host: value, brackets kept, port only when explicit
    std::string target;       // request target: path [+ query]
    std::string credentials;  // "user:password" from the URL, for Authorization: Basic; never logged
    std::string url() const;  // for logs: without the credentials
};

}  // namespace tunnel::transport
