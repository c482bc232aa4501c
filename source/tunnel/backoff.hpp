#pragma once
// Reconnect schedule: the first attempt is immediate; after k consecutive failures the wait is
// base * 2^(k-1), plus up to 25% jitter, never above the cap. A session that came up resets it.

#include <chrono>
#include <random>

namespace tunnel {

struct backoff_policy {
    std::chrono::milliseconds base{5000};
    std::chrono::milliseconds cap{60000};
};

// The delay before the next attempt after `failures` consecutive failures.
// jitter01 in [0, 1) picks the jitter; pure so that the schedule can be unit tested.
std::chrono::milliseconds backoff_delay(backoff_policy const& policy, unsigned failures, double jitter01);

class backoff {
public:
    explicit backoff(backoff_policy policy, std::uint32_t seed = std::random_device{}());

    void record_failure() { ++failures_; }
    void record_session_up() { failures_ = 0; }
    unsigned failures() const { return failures_; }
    std::chrono::milliseconds next_delay();

private:
    backoff_policy policy_;
    unsigned failures_ = 0;
    std::mt19937 rng_;
};

}  // namespace tunnel
