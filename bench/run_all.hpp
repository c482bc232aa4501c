#pragma once
// Structured concurrency for scenarios: run tasks side by side on the current executor and return
// when every one has finished (so they may borrow from the caller's frame); the first exception
// is rethrown.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <vector>

namespace bench {

inline boost::asio::awaitable<void> run_all(std::vector<boost::asio::awaitable<void>> tasks) {
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    struct state {
        explicit state(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
        std::size_t remaining = 0;
        std::exception_ptr error;
        asio::steady_timer done;
    };
    auto st = std::make_shared<state>(ex);
    st->remaining = tasks.size();
    for (auto& task : tasks)
        asio::co_spawn(ex, std::move(task), [st](std::exception_ptr e) {
            if (e && !st->error) st->error = e;
            if (--st->remaining == 0) st->done.cancel();
        });
    while (st->remaining > 0) co_await st->done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (st->error) std::rethrow_exception(st->error);
}

}  // namespace bench
