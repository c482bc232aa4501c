#pragma once
// The default --session-buffer from the container's memory limit: a client in a 256 MiB
// container should not plan to hold 64 MiB of a slow service's data.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tunnel {

struct memory_limit {
    std::size_t bytes = 0;
    std::string source;  // the file it came from
};

// The content of memory.max (v2) or memory.limit_in_bytes (v1): nullopt for "max", for v1's
// "no limit" (a number near 2^63) and for anything unreadable.
std::optional<std::size_t> parse_cgroup_limit(std::string_view content);

// The limit of the cgroup this process is in (self_cgroup: /proc/self/cgroup names it), then of
// the cgroup root as a container sees it: cgroup v2 memory.max first, then v1's
// memory/memory.limit_in_bytes. The first file that states a limit wins.
std::optional<memory_limit> find_memory_limit(std::string const& root = "/sys/fs/cgroup",
                                              std::string const& self_cgroup = "/proc/self/cgroup");

// One eighth of the limit, between 4 MiB and 64 MiB; 64 MiB without a limit.
std::size_t session_buffer_for(std::optional<std::size_t> limit);

}  // namespace tunnel
