#pragma once
// "Look again": a coroutine sleeps on it until another part of the same executor notifies. A timer
// that never expires, cancelled to wake every waiter. Waiters recheck their own condition (a wake
// may be spurious), so no state rides on it. A cancelled waiting coroutine wakes too.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace tunnel::transport {

class wake_signal {
public:
    explicit wake_signal(boost::asio::any_io_executor ex)
        : timer_(std::move(ex), boost::asio::steady_timer::time_point::max()) {}

    // Returns when notified, or when the waiting coroutine is cancelled (or was already: a
    // cancellation that came while it awaited something else must not be lost to a new wait).
    boost::asio::awaitable<void> wait() {
        bool const cancelled = co_await already_cancelled();  // (GCC 12: not inside a condition)
        if (cancelled) co_return;
        co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::deferred));
    }
    // The same, or at the deadline: false then. For a signal with one waiter only (setting the
    // deadline cancels the waits of others).
    boost::asio::awaitable<bool> wait_until(boost::asio::steady_timer::time_point deadline) {
        bool const cancelled = co_await already_cancelled();  // (GCC 12: not inside a condition)
        if (cancelled) co_return true;
        timer_.expires_at(deadline);
        auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::deferred));
        timer_.expires_at(boost::asio::steady_timer::time_point::max());
        co_return ec == boost::asio::error::operation_aborted;
    }
    // Wakes every current waiter. Call on the signal's executor.
    void notify() { timer_.cancel(); }

    boost::asio::any_io_executor get_executor() { return timer_.get_executor(); }

private:
    static boost::asio::awaitable<bool> already_cancelled() {
        auto const state = co_await boost::asio::this_coro::cancellation_state;
        co_return state.cancelled() != boost::asio::cancellation_type::none;
    }

    boost::asio::steady_timer timer_;
};

}  // namespace tunnel::transport
