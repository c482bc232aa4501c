#pragma once
// Where a client's control endpoint lives: a Unix socket in the abstract namespace, named from the
// container id. Abstract names belong to the network namespace (the container's own) and vanish
// with the process that bound them, so a killed client never leaves a stale endpoint behind.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tunnel::control {

// The socket name, leading NUL included. Ids that are long or hold spaces or control characters
// are replaced by a hash, so that every id gets a valid and distinct name.
std::string endpoint_name(std::string_view container_id);

// The name as people read it (ss, /proc/net/unix): "@tunnel-client/ID".
std::string display_name(std::string_view name);

// The endpoints listening in this network namespace, read from /proc/net/unix's text: their names
// (leading NUL included), sorted.
std::vector<std::string> listening_endpoints(std::string_view proc_net_unix);

// The names listening now (reads /proc/net/unix), or nothing when it cannot be read.
std::optional<std::vector<std::string>> find_listening_endpoints();

}  // namespace tunnel::control
