#pragma once
// "Look again": a coroutine sleeps on it until another part of the same executor notifies. A timer
// that never expires, cancelled to wake every waiter. Waiters recheck their own condition (a wake
// may be spurious), so no state rides on it. A cancelled waiting coroutine wakes too; one that was
// cancelled while it awaited something else must look at its cancellation state before it waits
// again (a new wait does not know of an old cancellation).
//
// The waits are operations, not coroutines: a waiting connection keeps no coroutine frame for
// them (every idle connection waits on one).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tunnel::transport {

class wake_signal {
public:
    explicit wake_signal(boost::asio::any_io_executor ex)
        : timer_(std::move(ex), boost::asio::steady_timer::time_point::max()) {}

    // Completes when notified (with operation_aborted), or when the waiting coroutine is cancelled.
    auto wait() { return timer_.async_wait(boost::asio::as_tuple(boost::asio::deferred)); }
    // The same, or at the deadline (without error). For a signal with one waiter only, which
    // waits this way every time (setting the deadline cancels the waits of others).
    auto wait_until(boost::asio::steady_timer::time_point deadline) {
        timer_.expires_at(deadline);
        return timer_.async_wait(boost::asio::as_tuple(boost::asio::deferred));
    }
    // Wakes every current waiter. Call on the signal's executor.
    void notify() { timer_.cancel(); }

    boost::asio::any_io_executor get_executor() { return timer_.get_executor(); }

private:
    boost::asio::steady_timer timer_;
};

}  // namespace tunnel::transport
