#pragma once
// When the event loop polls instead of sleeping, as a rule on the gaps between events (pure: no
// clock, no io_context; the loop feeds it what it measured). Polling after an event catches a
// reply that comes within the budget without a wake-up (tens of microseconds each way on virtual
// machines), but costs the CPU of the whole budget when nothing comes. So the loop polls only
// while the traffic is back to back: while the recent gaps between events (the last `window`)
// average under twice the budget. A service at a modest rate (a request every few hundred
// microseconds or more) never makes it poll; a closed loop of round trips does.

#include <array>
#include <chrono>
#include <cstddef>

namespace tunnel::app {

class busy_poll_policy {
public:
    using duration = std::chrono::microseconds;
    static constexpr std::size_t window = 8;

    // budget: the most one poll lasts; 0 never polls.
    explicit busy_poll_policy(duration budget) : budget_(budget) {}

    // The time the loop had nothing to do before the next event came (polling or asleep).
    void record_gap(duration gap) {
        total_ += gap - gaps_[next_];
        gaps_[next_] = gap;
        next_ = (next_ + 1) % window;
        if (seen_ < window) ++seen_;
    }

    // Poll (rather than sleep) after the event just handled?
    bool poll() const {
        if (budget_.count() <= 0 || seen_ < window) return false;
        return total_ < 2 * budget_ * static_cast<long>(window);
    }

    duration budget() const { return budget_; }

private:
    duration budget_;
    std::array<duration, window> gaps_{};
    duration total_{0};
    std::size_t next_ = 0;
    std::size_t seen_ = 0;
};

}  // namespace tunnel::app
