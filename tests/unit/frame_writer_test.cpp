#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include "transport/frame_queue.hpp"
#include "transport/frame_writer.hpp"

using tunnel::transport::frame_bytes;
using tunnel::transport::outgoing_frame;

namespace {
constexpr std::size_t overhead = tunnel::transport::frame_queue::per_frame_cost;
outgoing_frame frame_of(std::size_t n, std::uint64_t owner) { return outgoing_frame{frame_bytes(n), owner}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(frame_queue)

BOOST_AUTO_TEST_CASE(every_frame_costs_its_bytes_plus_bookkeeping) {
    tunnel::transport::frame_queue q(1000);
    BOOST_TEST(q.push(frame_of(60, 1)) == 60 + overhead);
    BOOST_TEST(q.push(frame_of(0, 1)) == overhead);  // an empty frame is not free
    BOOST_TEST(q.queued_cost() == 60 + 2 * overhead);
}

BOOST_AUTO_TEST_CASE(a_frame_costs_the_memory_it_holds_not_only_what_it_carries) {
    // A read buffer sized for a whole frame that got a short read still holds all of it.
    frame_bytes bytes(10'000);
    bytes.resize(100);
    auto const held = bytes.capacity();
    BOOST_TEST(held >= 10'000u);
    tunnel::transport::frame_queue q(100'000);
    BOOST_TEST(q.push(outgoing_frame{std::move(bytes), 1}) == held + overhead);
    q.begin_write();
    BOOST_TEST(q.pop_written() == held + overhead);
    BOOST_TEST(q.queued_cost() == 0u);
}

BOOST_AUTO_TEST_CASE(growing_a_frame_leaves_the_new_bytes_alone) {
    // Reads fill the frame right after it is sized: no zero fill first. Observed through a
    // buffer reused in place: shrinking then growing again keeps the bytes that were there.
    frame_bytes bytes(64, 0xab);
    bytes.resize(8);
    bytes.resize(64);
    BOOST_TEST(bytes[63] == 0xab);
}

BOOST_AUTO_TEST_CASE(tiny_frames_fill_the_budget_too) {
    // A flood of 8-byte replies must reach the budget like a few large frames do.
    tunnel::transport::frame_queue q(64 * 1024);
    std::size_t frames = 0;
    while (q.has_room()) {
        q.push(frame_of(8, 0));
        ++frames;
    }
    BOOST_TEST(frames == (64 * 1024 + 8 + overhead - 1) / (8 + overhead));
}

BOOST_AUTO_TEST_CASE(drop_withdraws_only_that_owners_frames_and_keeps_the_one_in_flight) {
    tunnel::transport::frame_queue q(10000);
    q.push(frame_of(10, 1));
    q.push(frame_of(20, 2));
    q.push(frame_of(30, 1));
    q.push(frame_of(40, 0));
    BOOST_TEST(q.begin_write() == 1u);  // owner 1's first frame is being written
    BOOST_TEST(q.in_flight(0).bytes.size() == 10u);
    BOOST_TEST(q.drop(1) == 30 + overhead);
    BOOST_TEST(q.drop(0) == 0u);  // owner 0 means "nobody": nothing is dropped
    BOOST_TEST(q.pop_written() == 10 + overhead);
    BOOST_TEST(q.queued_cost() == 60 + 2 * overhead);
}

BOOST_AUTO_TEST_CASE(close_keeps_the_frame_in_flight_until_its_write_ends_and_refuses_more) {
    tunnel::transport::frame_queue q(10000);
    q.push(frame_of(10, 1));
    q.push(frame_of(20, 1));
    q.begin_write();
    BOOST_TEST(q.close() == 20 + overhead);
    BOOST_TEST(!q.empty());
    BOOST_TEST(q.push(frame_of(5, 1)) == 0u);
    BOOST_TEST(q.finish_close() == 10 + overhead);
    BOOST_TEST(q.empty());
    BOOST_TEST(q.queued_cost() == 0u);
}

BOOST_AUTO_TEST_CASE(a_write_gathers_the_binary_frames_behind_the_front_within_its_limits) {
    using tunnel::transport::ws_message;
    tunnel::transport::frame_queue q(100'000);
    for (int i = 0; i < 4; ++i) q.push(frame_of(100, 1));
    q.push(outgoing_frame{frame_bytes(5), 0, ws_message::text});
    q.push(frame_of(100, 1));
    BOOST_TEST(q.begin_write(3, 10'000) == 3u);  // the frame count stops it
    BOOST_TEST(q.pop_written() == 3 * (100 + overhead));
    BOOST_TEST(q.begin_write(32, 10'000) == 1u);  // a text frame ends a batch
    q.pop_written();
    BOOST_TEST(q.begin_write(32, 10'000) == 1u);  // and goes alone
    BOOST_TEST((q.in_flight(0).kind == ws_message::text));
    q.pop_written();
    BOOST_TEST(q.begin_write(32, 10'000) == 1u);
    BOOST_TEST(q.pop_written() == 100 + overhead);
    BOOST_TEST(q.empty());
    BOOST_TEST(q.queued_cost() == 0u);
}

BOOST_AUTO_TEST_CASE(a_write_gathers_no_more_bytes_than_asked_but_always_takes_the_front) {
    tunnel::transport::frame_queue q(100'000);
    q.push(frame_of(1000, 1));
    q.push(frame_of(10, 1));
    q.push(frame_of(100, 1));
    q.push(frame_of(100, 1));
    q.push(frame_of(100, 1));
    BOOST_TEST(q.begin_write(32, 500) == 1u);  // larger than the limit: alone
    q.pop_written();
    BOOST_TEST(q.begin_write(32, 250) == 3u);  // 10 + 100 + 100; the next would pass 250
    q.pop_written();
    BOOST_TEST(q.begin_write(32, 250) == 1u);
}

BOOST_AUTO_TEST_CASE(drop_and_close_leave_every_frame_of_a_write_in_flight) {
    tunnel::transport::frame_queue q(100'000);
    q.push(frame_of(10, 1));
    q.push(frame_of(20, 1));
    q.push(frame_of(30, 1));
    q.push(frame_of(40, 2));
    BOOST_TEST(q.begin_write(2, 1000) == 2u);
    BOOST_TEST(q.drop(1) == 30 + overhead);
    BOOST_TEST(q.in_flight(0).bytes.size() == 10u);
    BOOST_TEST(q.in_flight(1).bytes.size() == 20u);
    BOOST_TEST(q.close() == 40 + overhead);
    BOOST_TEST(q.finish_close() == 30 + 2 * overhead);
    BOOST_TEST(q.queued_cost() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(frame_writer)

BOOST_AUTO_TEST_CASE(release_hook_sees_every_byte_that_leaves) {
    boost::asio::io_context ioc;
    std::size_t released = 0;
    tunnel::transport::frame_writer writer(ioc.get_executor(), 1000, [&](std::size_t n) { released += n; });
    auto const a = writer.send(frame_bytes(10), 1);
    auto const b = writer.send(frame_bytes(20), 2);
    writer.drop(1);
    BOOST_TEST(released == a);
    writer.stop();
    BOOST_TEST(released == a + b);
    BOOST_TEST(writer.send(frame_bytes(5), 1) == 0u);  // refused once stopped
}

BOOST_AUTO_TEST_CASE(stop_wakes_producers_and_waiting_producers_do_not_spin) {
    boost::asio::io_context ioc;
    tunnel::transport::frame_writer writer(ioc.get_executor(), 10);
    writer.send(frame_bytes(50), 1);
    int woken = 0;
    bool result = true;
    for (int i = 0; i < 3; ++i)
        boost::asio::co_spawn(ioc, writer.wait_for_room(), [&](std::exception_ptr, bool r) {
            ++woken;
            result = result && r;
        });
    // Waiting producers must sleep: a handful of handlers, not thousands of wake-ups.
    auto const handlers = ioc.run_for(std::chrono::milliseconds(50));
    BOOST_TEST(handlers < 20u);
    BOOST_TEST(woken == 0);
    writer.stop();
    ioc.run_for(std::chrono::milliseconds(200));
    BOOST_TEST(woken == 3);
    BOOST_TEST(!result);
    BOOST_TEST(writer.queued_bytes() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
