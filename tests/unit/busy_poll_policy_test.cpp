// When the event loop polls instead of sleeping: only while events come back to back.

#include "app/busy_poll_policy.hpp"

#include <boost/test/unit_test.hpp>

using tunnel::app::busy_poll_policy;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(busy_poll_rule)

BOOST_AUTO_TEST_CASE(a_closed_loop_of_round_trips_polls) {
    busy_poll_policy p(50us);
    for (int i = 0; i < 7; ++i) {
        p.record_gap(20us);
        BOOST_TEST(!p.poll());  // not before a window of gaps has been seen
    }
    p.record_gap(20us);
    BOOST_TEST(p.poll());
    // Gaps around the budget, as a closed loop has them while it polls: it goes on.
    for (auto gap : {30us, 80us, 25us, 95us, 40us, 60us, 20us, 90us}) p.record_gap(gap);
    BOOST_TEST(p.poll());
}

BOOST_AUTO_TEST_CASE(modest_rates_never_poll) {
    // 2000 requests a second: each request and its echo come ~15 us apart, then ~485 us of nothing.
    busy_poll_policy at_2000(50us);
    for (int i = 0; i < 100; ++i) {
        at_2000.record_gap(15us);
        BOOST_TEST(!at_2000.poll());
        at_2000.record_gap(485us);
        BOOST_TEST(!at_2000.poll());
    }
    busy_poll_policy at_200(50us);
    for (int i = 0; i < 100; ++i) {
        at_200.record_gap(i % 2 ? 15us : 4985us);
        BOOST_TEST(!at_200.poll());
    }
}

BOOST_AUTO_TEST_CASE(a_pause_in_the_traffic_stops_the_polling_until_it_is_back_to_back_again) {
    busy_poll_policy p(50us);
    for (int i = 0; i < 8; ++i) p.record_gap(20us);
    BOOST_TEST(p.poll());
    p.record_gap(2000us);  // a pause: the average of the window is far over twice the budget
    BOOST_TEST(!p.poll());
    for (int i = 0; i < 7; ++i) {
        p.record_gap(20us);
        BOOST_TEST(!p.poll());  // the pause is still in the window
    }
    p.record_gap(20us);  // now it is out
    BOOST_TEST(p.poll());
}

BOOST_AUTO_TEST_CASE(a_budget_of_zero_never_polls) {
    busy_poll_policy p(0us);
    for (int i = 0; i < 20; ++i) p.record_gap(1us);
    BOOST_TEST(!p.poll());
}

BOOST_AUTO_TEST_SUITE_END()
