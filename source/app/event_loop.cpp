#include "app/event_loop.hpp"

#include <boost/asio/io_context.hpp>

#include "app/busy_poll_policy.hpp"

namespace tunnel::app {

namespace {
using clock_type = std::chrono::steady_clock;
constexpr std::chrono::microseconds poll_gap{5};  // between two polls of a busy-poll

void pause_until(clock_type::time_point t) {
    while (clock_type::now() < t) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }
}

// Polls until the budget passes without an event; true if one came (and was handled).
bool poll_for(boost::asio::io_context& ioc, std::chrono::microseconds budget) {
    auto const give_up = clock_type::now() + budget;
    while (!ioc.stopped() && clock_type::now() < give_up) {
        pause_until(clock_type::now() + poll_gap);
        if (ioc.poll_one() > 0) return true;
    }
    return false;
}
}  // namespace

void run_event_loop(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll) {
    if (busy_poll.count() <= 0) {
        ioc.run();
        return;
    }
    busy_poll_policy policy(busy_poll);
    // run_one() sleeps until an event; poll_one() handles one that is ready without sleeping.
    // Stopped, or out of work, both return 0.
    for (;;) {
        auto const idle_since = clock_type::now();
        bool const caught = policy.poll() && poll_for(ioc, busy_poll);
        if (!caught && ioc.run_one() == 0) return;
        policy.record_gap(std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - idle_since));
        while (ioc.poll() > 0) {
        }
    }
}

}  // namespace tunnel::app
