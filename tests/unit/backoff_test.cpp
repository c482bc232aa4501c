#include "tunnel/backoff.hpp"

#include <boost/test/unit_test.hpp>

using namespace tunnel;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(first_attempt_is_immediate) {
    BOOST_TEST(backoff_delay({5000ms, 60000ms}, 0, 0.99).count() == 0);
}

BOOST_AUTO_TEST_CASE(doubles_from_the_base_without_jitter) {
    backoff_policy const p{1000ms, 60000ms};
    BOOST_TEST(backoff_delay(p, 1, 0.0).count() == 1000);
    BOOST_TEST(backoff_delay(p, 2, 0.0).count() == 2000);
    BOOST_TEST(backoff_delay(p, 3, 0.0).count() == 4000);
    BOOST_TEST(backoff_delay(p, 4, 0.0).count() == 8000);
}

BOOST_AUTO_TEST_CASE(jitter_adds_at_most_a_quarter) {
    backoff_policy const p{1000ms, 60000ms};
    BOOST_TEST(backoff_delay(p, 1, 0.5).count() == 1125);
    BOOST_TEST(backoff_delay(p, 1, 1.0).count() == 1250);
    BOOST_TEST(backoff_delay(p, 3, 1.0).count() == 5000);
}

BOOST_AUTO_TEST_CASE(never_exceeds_the_cap) {
    backoff_policy const p{5000ms, 60000ms};
    for (unsigned failures = 1; failures < 1000; failures += 7)
        for (double j : {0.0, 0.3, 0.999}) BOOST_TEST(backoff_delay(p, failures, j).count() <= 60000);
    BOOST_TEST(backoff_delay(p, 5, 0.0).count() == 60000);  // 5 * 16 = 80 s, capped
}

BOOST_AUTO_TEST_CASE(cap_below_base_uses_base) {
    BOOST_TEST(backoff_delay({5000ms, 1000ms}, 3, 0.0).count() == 5000);
}

BOOST_AUTO_TEST_CASE(zero_base_retries_at_once) {
    BOOST_TEST(backoff_delay({0ms, 60000ms}, 10, 0.7).count() == 0);
}

BOOST_AUTO_TEST_CASE(session_up_resets_the_schedule) {
    tunnel::backoff b({1000ms, 60000ms}, 42);
    BOOST_TEST(b.next_delay().count() == 0);
    b.record_failure();
    b.record_failure();
    b.record_failure();
    BOOST_TEST(b.failures() == 3u);
    auto const grown = b.next_delay();
    BOOST_TEST(grown.count() >= 4000);
    BOOST_TEST(grown.count() <= 5000);
    b.record_session_up();
    BOOST_TEST(b.failures() == 0u);
    BOOST_TEST(b.next_delay().count() == 0);
    b.record_failure();
    auto const first = b.next_delay();
    BOOST_TEST(first.count() >= 1000);
    BOOST_TEST(first.count() <= 1250);
}

BOOST_AUTO_TEST_SUITE_END()
