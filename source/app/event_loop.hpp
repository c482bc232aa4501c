#pragma once
// The client's event loop: io_context::run(), except that while the traffic is back to back
// (busy_poll_policy) a thread that runs out of work keeps polling for a short while (the budget)
// before it sleeps in epoll_wait. A reply that comes back within that time is handled without a
// wake-up, which on virtual machines costs tens of microseconds each way. The polls are a few
// microseconds apart, so that the thread does not hold the epoll instance's lock against the
// kernel queueing its events. Idle clients, and clients at a modest rate, never poll.

#include <chrono>

namespace boost::asio {
class io_context;
}

namespace tunnel::app {

// Runs handlers until the io_context is stopped or has no work left, as io_context::run() does.
// Call from each I/O thread. busy_poll: the most one poll lasts (0: never).
void run_event_loop(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll);

}  // namespace tunnel::app
