// The task group that owns a session's links: children end by its cancellation, each on its own
// executor; wait() returns once the last one has ended; a closed group starts nothing.

#include "transport/task_group.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tunnel::transport::task_group;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Waits for nothing but a cancellation; then says where it ran.
asio::awaitable<void> wait_forever(std::atomic<int>& ended, std::atomic<int>& on_own_strand) {
    auto const ex = co_await asio::this_coro::executor;
    asio::steady_timer forever(ex, asio::steady_timer::time_point::max());
    auto [ec] = co_await forever.async_wait(use_tuple);
    if (ec == asio::error::operation_aborted && ex.target<asio::strand<asio::io_context::executor_type>>() &&
        ex.target<asio::strand<asio::io_context::executor_type>>()->running_in_this_thread())
        ++on_own_strand;
    ++ended;
}

// Ends by itself soon after it starts (unless cancelled before: then it throws, which is counted out
// too). (A named coroutine: a lambda's captures would die with the lambda, before the frame.)
asio::awaitable<void> finish_soon(std::atomic<int>& finished) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    ++finished;
}

asio::awaitable<void> note_start(bool& started) {
    started = true;
    co_return;
}

// Runs body on ex, with `threads` threads running ioc, until it returns; at most `limit`.
void run_on(asio::io_context& ioc, int threads, asio::any_io_executor ex,
            std::function<asio::awaitable<void>()> body, std::chrono::seconds limit = 20s) {
    std::atomic<bool> done{false};
    asio::co_spawn(ex, body(), [&](std::exception_ptr e) {
        done = true;
        if (e) std::rethrow_exception(e);
    });
    std::vector<std::thread> more;
    for (int i = 1; i < threads; ++i) more.emplace_back([&] { ioc.run_for(limit); });
    ioc.run_for(limit);
    for (auto& t : more) t.join();
    BOOST_TEST(done.load(), "the test body did not finish in time");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task_group_children)

BOOST_AUTO_TEST_CASE(emit_ends_every_child_and_wait_returns_after_the_last) {
    asio::io_context ioc;
    std::atomic<int> ended{0}, on_own_strand{0};
    run_on(ioc, 1, ioc.get_executor(), [&]() -> asio::awaitable<void> {
        task_group<int> group(co_await asio::this_coro::executor);
        for (int i = 0; i < 50; ++i)
            BOOST_REQUIRE(group.spawn(ioc.get_executor(), i, wait_forever(ended, on_own_strand)));
        BOOST_TEST(group.size() == 50u);
        int visited = 0;
        group.for_each([&](int) { ++visited; });
        BOOST_TEST(visited == 50);
        group.emit();
        co_await group.wait();
        BOOST_TEST(ended.load() == 50);
        BOOST_TEST(group.size() == 0u);
    });
}

BOOST_AUTO_TEST_CASE(a_child_that_throws_is_reported_and_counted_out) {
    asio::io_context ioc;
    run_on(ioc, 1, ioc.get_executor(), [&]() -> asio::awaitable<void> {
        task_group<std::string> group(co_await asio::this_coro::executor);
        std::string failed;
        group.spawn(
            ioc.get_executor(), std::string("thrower"),
            []() -> asio::awaitable<void> {
                co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                throw std::runtime_error("boom");
            }(),
            [&](std::string& child, std::exception_ptr e) {
                if (e) failed = child;
            });
        co_await group.wait();  // ends without an emit: the child ended by itself
        BOOST_TEST(failed == "thrower");
    });
}

BOOST_AUTO_TEST_CASE(a_closed_group_starts_nothing) {
    asio::io_context ioc;
    run_on(ioc, 1, ioc.get_executor(), [&]() -> asio::awaitable<void> {
        task_group<int> group(co_await asio::this_coro::executor);
        group.close();
        bool started = false;
        bool const taken = group.spawn(ioc.get_executor(), 1, note_start(started));
        co_await group.wait();
        BOOST_TEST(!taken);
        BOOST_TEST(!started);
    });
}

// Children on strands of a 4-thread io_context: each is cancelled on its own strand, never from the
// group's thread, and children that end by themselves while emit() runs are no problem (under
// ThreadSanitizer and AddressSanitizer this is where a race or a freed signal would show).
BOOST_AUTO_TEST_CASE(children_on_other_strands_are_cancelled_there) {
    asio::io_context ioc(4);
    std::atomic<int> ended{0}, on_own_strand{0}, quick{0};
    auto const group_strand = asio::make_strand(ioc);
    constexpr int rounds = 20, waiting = 20, finishing = 20;
    run_on(
        ioc, 4, group_strand,
        [&]() -> asio::awaitable<void> {
            for (int r = 0; r < rounds; ++r) {
                task_group<int> group(group_strand);
                for (int i = 0; i < waiting; ++i)
                    group.spawn(asio::make_strand(ioc), i, wait_forever(ended, on_own_strand));
                for (int i = 0; i < finishing; ++i) group.spawn(asio::make_strand(ioc), -i, finish_soon(quick));
                group.emit();
                co_await group.wait();
                BOOST_TEST(group.size() == 0u);
            }
        },
        30s);
    BOOST_TEST(ended.load() == rounds * waiting);
    BOOST_TEST(on_own_strand.load() == rounds * waiting);
    BOOST_TEST(quick.load() <= rounds * finishing);  // (cancelled before their post, some end at once)
}

BOOST_AUTO_TEST_SUITE_END()
