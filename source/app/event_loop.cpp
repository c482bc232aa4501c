#include "app/event_loop.hpp"

#include <boost/asio/io_context.hpp>

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

// Polls until busy_poll passes without an event; true if one came (and was handled).
bool poll_for(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll) {
    auto const give_up = clock_type::now() + busy_poll;
    while (!ioc.stopped() && clock_type::now() < give_up) {
        pause_until(clock_type::now() + poll_gap);
        if (ioc.poll() > 0) return true;
    }
    return false;
}
}  // namespace

void run_event_loop(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll) {
    if (busy_poll.count() <= 0) {
        ioc.run();
        return;
    }
    // run_one() sleeps until an event; poll() handles what is ready without sleeping. Stopped, or
    // out of work, both return 0.
    while (ioc.run_one() > 0) {
        do {
            while (ioc.poll() > 0) {
            }
        } while (poll_for(ioc, busy_poll));
    }
}

}  // namespace tunnel::app
