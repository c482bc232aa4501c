#pragma once
// The asking side of the control endpoint: one request, one answer line, within a deadline.
// Plain blocking sockets: `status`, `health` and a starting client ask once and are done.

#include <chrono>
#include <string>
#include <string_view>

namespace tunnel::control {

struct ask_result {
    enum class outcome {
        answered,    // answer holds the line (without its newline)
        nobody,      // nothing listens on the name
        failed,      // something listens, but no usable answer came: reason says why
    };
    outcome kind = outcome::failed;
    std::string answer;
    std::string reason;
};

// Sends request (a newline is added) to the endpoint `name` (leading NUL: abstract) and reads one
// line back. With wait_for_close, then also waits until the other side closes the connection
// (the client that was asked to stop has exited).
ask_result ask(std::string_view name, std::string_view request, std::chrono::milliseconds deadline,
               bool wait_for_close = false);

}  // namespace tunnel::control
