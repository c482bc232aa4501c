#pragma once
// Everything the runtime needs, as a plain struct: filled from flags and environment by app/options.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "transport/http_headers.hpp"
#include "transport/proxy_rules.hpp"
#include "tunnel/backoff.hpp"
#include "tunnel/port_policy.hpp"
#include "tunnel/runner_url.hpp"

namespace tunnel {

using namespace std::chrono_literals;

// How the runner is reached beyond its URL: TLS trust and identity, extra headers, a proxy.
struct reach_config {
    std::string ca_file;          // --ca-file: the only trust when set (else discovered: tls_trust.hpp)
    std::string tls_server_name;  // SNI and the name verified; empty = the URL's host
    std::string tls_cert;         // client certificate for mTLS, with tls_key
    std::string tls_key;
    bool tls_insecure = false;
    std::vector<transport::http_header> headers;
    std::optional<transport::proxy_url> proxy;  // after --proxy / environment and NO_PROXY
    std::string proxy_origin;                   // "--proxy", "https_proxy", ...: for the log
    std::string proxy_skipped;                  // why a configured proxy is not used (NO_PROXY)
};

struct client_config {
    std::string runner_url;
    std::string container_id;
    runner_endpoint endpoint;

    backoff_policy backoff{5000ms, 60000ms};
    unsigned max_reconnect = 0;  // consecutive failures before giving up; 0 = never

    std::chrono::milliseconds connect_timeout = 10s;    // TCP connect + TLS + WebSocket handshake
    std::chrono::milliseconds keepalive_timeout = 30s;  // silent runner: ping at half, give up at full
    std::chrono::milliseconds udp_idle_timeout = 60s;   // UDP flow without traffic is closed
    std::chrono::milliseconds stall_timeout = 10s;      // a full connection may hold the tunnel this long
    std::chrono::milliseconds local_connect_timeout = 5s;

    std::size_t conn_buffer = 4 * 1024 * 1024;      // bytes queued for one local socket
    std::size_t session_buffer = 64 * 1024 * 1024;  // bytes queued for all local sockets together
    std::size_t write_queue = 4 * 1024 * 1024;      // bytes queued for the WebSocket
    std::size_t max_message = 4 * 1024 * 1024 + 8;  // larger incoming messages end the session

    unsigned threads = 1;
    reach_config reach;
    port_policy ports;  // --allow-ports, --deny-ports, --max-connections
};

}  // namespace tunnel
