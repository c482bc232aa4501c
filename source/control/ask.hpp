#pragma once
// The asking side of the control endpoint: one request, one answer line, within a deadline.
// Plain blocking sockets: `status`, `health` and a starting client ask once and are done.

#include <chrono>
#include <string>
#include <string_view>

namespace tunnel::control {

struct ask_result {
    enum class outcome {
        answered,  // answer holds the line (without its newline); it may be an error answer
        nobody,    // nothing listens on the name
        busy,      // the endpoint took no more callers (all its connections in use, or its queue full)
        failed,    // something listens, but no usable answer came: reason says why
    };
    outcome kind = outcome::failed;
    std::string answer;
    std::string reason;
};

// Sends request (a newline is added) to the endpoint `name` (leading NUL: abstract) and reads one
// line back. With wait_for_close, then also waits until the other side closes the connection
// (the client that was asked to stop has exited). A full queue is `busy`; a "busy" answer is
// returned as answered.
ask_result ask(std::string_view name, std::string_view request, std::chrono::milliseconds deadline,
               bool wait_for_close = false);

// ask(), again after a short pause (50 ms, doubling up to 500 ms, with jitter) for as long as the
// endpoint is busy, all within `budget`. A busy endpoint is a full one, not a dead one: callers
// that hold a connection without asking are dropped by the server within a second.
ask_result ask_until_served(std::string_view name, std::string_view request, std::chrono::milliseconds budget,
                            bool wait_for_close = false);

// The pause before the next attempt after `busy_answers` busy answers in a row (jitter01 in [0, 1)).
std::chrono::milliseconds busy_pause(unsigned busy_answers, double jitter01);

}  // namespace tunnel::control
