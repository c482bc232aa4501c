#pragma once
// One client per container id. A starting client claims the control endpoint's name by binding
// it; when another client holds it, the starting one either steps back (naming the running pid)
// or, with --replace, asks that one to stop politely, waits until it has exited, and claims the
// name then.

#include <chrono>
#include <string>
#include <variant>

namespace tunnel::control {

struct claimed {
    int fd = -1;  // bound and listening; the control server takes it over
};
struct held_by_other {
    long pid = 0;        // 0 when the holder did not say (another user's client, or a wedged one)
    std::string detail;  // why it could not be asked, when it could not
};
struct claim_failed {
    std::string reason;
};
using claim_result = std::variant<claimed, held_by_other, claim_failed>;

struct claim_options {
    bool replace = false;
    std::chrono::milliseconds ask_deadline{2000};   // for the holder's answer
    std::chrono::milliseconds stop_deadline{10000};  // for the holder to exit after "stop"
};

claim_result claim_endpoint(std::string const& name, claim_options const& options);

}  // namespace tunnel::control
