#pragma once
// `tunnel-client status` and `tunnel-client health`: ask a running client over its control
// endpoint. Exit codes: 0 answered (status) or up (health), 1 down or no usable answer, 2 bad
// usage, 3 no client runs.

#include <iosfwd>
#include <optional>

namespace tunnel::app {

// The exit code when argv names a command, else nothing (then it is a client's command line).
std::optional<int> run_command(int argc, char const* const* argv, std::ostream& out, std::ostream& err);

}  // namespace tunnel::app
