#pragma once
// "Look again": a coroutine sleeps on it until another part of the same executor notifies. A timer
// that never expires, cancelled to wake every waiter. Waiters recheck their own condition (a wake
// may be spurious), so no state rides on it. expires_at() is never called again after
// construction: it would cancel the other waiters and make them spin.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/deferred.hpp>

namespace tunnel::transport {

class wake_signal {
public:
    explicit wake_signal(boost::asio::any_io_executor ex)
        : timer_(std::move(ex), boost::asio::steady_timer::time_point::max()) {}

    // Returns when notified (or when the waiting coroutine is cancelled).
    boost::asio::awaitable<void> wait() {
        co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::deferred));
    }
    // Wakes every current waiter. Call on the signal's executor.
    void notify() { timer_.cancel(); }

    boost::asio::any_io_executor get_executor() { return timer_.get_executor(); }

private:
    boost::asio::steady_timer timer_;
};

}  // namespace tunnel::transport
