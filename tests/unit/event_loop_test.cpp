// The client's event loop (run, with a busy-poll after traffic): it runs every handler, from this
// thread or others, and ends exactly as io_context::run() does: out of work, or stopped.

#include "app/event_loop.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tunnel::app::run_event_loop;

namespace {
// Runs the loop on a thread of its own; false if it has not returned within the limit (then the
// io_context is stopped, so that the test ends either way).
bool returns_within(asio::io_context& ioc, std::chrono::microseconds busy_poll, std::chrono::milliseconds limit) {
    auto done = std::async(std::launch::async, [&] { run_event_loop(ioc, busy_poll); });
    bool const in_time = done.wait_for(limit) == std::future_status::ready;
    if (!in_time) ioc.stop();
    done.wait();
    return in_time;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(event_loop)

BOOST_AUTO_TEST_CASE(runs_every_handler_and_returns_when_the_work_is_done) {
    for (auto busy_poll : {0us, 50us, 1000us}) {
        asio::io_context ioc;
        std::vector<int> order;
        for (int i = 0; i < 5; ++i)
            asio::post(ioc, [&, i] {
                order.push_back(i);
                if (i == 4) asio::post(ioc, [&] { order.push_back(5); });  // posted by a handler
            });
        BOOST_TEST(returns_within(ioc, busy_poll, 5s));
        BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3, 4, 5}), "busy_poll " << busy_poll.count());
    }
}

BOOST_AUTO_TEST_CASE(wakes_for_a_timer_after_polling_gave_up) {
    asio::io_context ioc;
    asio::steady_timer timer(ioc, 30ms);  // long after the 50 us of polling
    bool fired = false;
    timer.async_wait([&](boost::system::error_code ec) { fired = !ec; });
    auto const start = std::chrono::steady_clock::now();
    BOOST_TEST(returns_within(ioc, 50us, 5s));
    BOOST_TEST(fired);
    BOOST_TEST((std::chrono::steady_clock::now() - start >= 30ms));
}

BOOST_AUTO_TEST_CASE(handles_work_posted_by_other_threads_while_polling_or_asleep) {
    asio::io_context ioc;
    auto guard = asio::make_work_guard(ioc);
    std::atomic<int> handled{0};
    std::thread poster([&] {
        // One at a time, each once the last was handled: some land while the loop polls, the
        // others after it went to sleep (the wait between them varies with the machine).
        auto const deadline = std::chrono::steady_clock::now() + 5s;
        for (int i = 0; i < 200 && std::chrono::steady_clock::now() < deadline; ++i) {
            asio::post(ioc, [&] { handled.fetch_add(1); });
            while (handled.load() <= i && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
            if (i % 20 == 0) {  // now and then, let the loop's 50 us of polling run out first
                auto const later = std::chrono::steady_clock::now() + 1ms;
                while (std::chrono::steady_clock::now() < later) std::this_thread::yield();
            }
        }
        asio::post(ioc, [&] { guard.reset(); });
    });
    BOOST_TEST(returns_within(ioc, 50us, 10s));
    poster.join();
    BOOST_TEST(handled.load() == 200);
}

BOOST_AUTO_TEST_CASE(stop_ends_it_with_work_still_pending) {
    for (auto busy_poll : {0us, 50us}) {
        asio::io_context ioc;
        asio::steady_timer far(ioc, 1h);
        far.async_wait([](boost::system::error_code) {});
        asio::post(ioc, [&] { ioc.stop(); });
        BOOST_TEST(returns_within(ioc, busy_poll, 5s), "busy_poll " << busy_poll.count());
    }
}

BOOST_AUTO_TEST_SUITE_END()
