#pragma once
// `tunnel-client status` and `tunnel-client health`: ask a running client over its control
// endpoint. Exit codes: 0 answered (status) or up (health), 1 the client answered and its tunnel is
// down (health), 2 bad usage, 3 no client runs, 5 a client runs but could not be asked (still busy
// after retries, no answer in time, permission denied): never read as "down".

#include <iosfwd>
#include <optional>

namespace tunnel::app {

inline constexpr int none_runs = 3;
inline constexpr int could_not_ask = 5;

// The exit code when argv names a command, else nothing (then it is a client's command line).
std::optional<int> run_command(int argc, char const* const* argv, std::ostream& out, std::ostream& err);

}  // namespace tunnel::app
