#pragma once
// What /proc says about a process: CPU time (with its descendants) and memory. Linux only.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace bench {

// utime + stime + cutime + cstime of pid, in seconds (fields 14-17 of /proc/PID/stat over
// sysconf(_SC_CLK_TCK)); nullopt when the process is gone. cutime/cstime hold the children it
// has already reaped.
std::optional<double> own_cpu_seconds(pid_t pid);

// Live children of pid, from /proc/PID/task/*/children.
std::vector<pid_t> children_of(pid_t pid);

// CPU of pid and of every live descendant (recursively), reaped ones included through the
// parents' cutime/cstime. Exact once the descendants have been reaped; a descendant that is reaped
// between two reads can be counted twice or missed, so callers wait for the children to go first.
double tree_cpu_seconds(pid_t pid);
// The sum of tree_cpu_seconds over pids (a target's measured processes).
double tree_cpu_seconds(std::vector<pid_t> const& pids);

// The harness's own CPU seconds, all threads (getrusage). Per second of a run, near 1 means the
// harness (it plays the user, the runner and the service on one thread), not the target, limits it.
double harness_cpu_seconds();

struct memory_kib {
    std::size_t rss = 0;  // VmRSS
    std::size_t hwm = 0;  // VmHWM: peak RSS
};
memory_kib process_memory(pid_t pid);

// True when something listens on 127.0.0.1:port (TCP, state LISTEN) or is bound to it (UDP).
bool tcp_listening(std::uint16_t port);
bool udp_bound(std::uint16_t port);

}  // namespace bench
