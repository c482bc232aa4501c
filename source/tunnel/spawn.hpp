#pragma once
// co_spawn for per-connection coroutines: an exception is logged and dropped so that one broken
// connection never takes the process down (the top-level coroutine rethrows instead).

#include <boost/asio/co_spawn.hpp>
#include <exception>
#include <string_view>

#include "app/logging.hpp"

namespace tunnel {

inline void spawn_logged(boost::asio::any_io_executor ex, boost::asio::awaitable<void> task,
                         std::string_view what) {
    boost::asio::co_spawn(ex, std::move(task), [what](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& x) {
            log_error("task failed", {{"task", what}, {"reason", x.what()}});
        } catch (...) {
            log_error("task failed", {{"task", what}});
        }
    });
}

}  // namespace tunnel
