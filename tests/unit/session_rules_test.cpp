#include <boost/test/unit_test.hpp>
#include <string>

#include "tunnel/session_rules.hpp"

using namespace tunnel;
using namespace std::chrono_literals;
using protocol::msg_type;
using protocol::proto;

namespace {
protocol::header h(msg_type t, std::uint8_t p = 0) { return protocol::header{static_cast<std::uint8_t>(t), p, 7, 80}; }
protocol::header raw_type(std::uint8_t t) { return protocol::header{t, 0, 7, 80}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(session_rules)

BOOST_AUTO_TEST_CASE(each_frame_type_gets_its_action) {
    BOOST_TEST((decide(h(msg_type::connect), false, false) == frame_action::open));
    BOOST_TEST((decide(h(msg_type::connect), true, false) == frame_action::replace));
    BOOST_TEST((decide(h(msg_type::connect, 9), false, false) == frame_action::refuse_proto));
    BOOST_TEST((decide(h(msg_type::data), true, false) == frame_action::deliver));
    BOOST_TEST((decide(h(msg_type::data), false, false) == frame_action::ignore_unknown_id));
    BOOST_TEST((decide(h(msg_type::close), true, false) == frame_action::close));
    BOOST_TEST((decide(h(msg_type::close), false, false) == frame_action::ignore_unknown_id));
    BOOST_TEST((decide(h(msg_type::ping), false, false) == frame_action::pong));
    for (auto t : {msg_type::connected, msg_type::error, msg_type::pong})
        BOOST_TEST((decide(h(t), true, false) == frame_action::ignore_client_side));
    BOOST_TEST((decide(raw_type(0), false, false) == frame_action::ignore_unknown_type));
    BOOST_TEST((decide(raw_type(0x42), false, false) == frame_action::ignore_unknown_type));
}

BOOST_AUTO_TEST_CASE(stopping_opens_and_answers_nothing) {
    for (auto t : {msg_type::connect, msg_type::data, msg_type::close, msg_type::ping})
        BOOST_TEST((decide(h(t), true, true) == frame_action::ignore_stopping));
}

BOOST_AUTO_TEST_CASE(id_table_newest_owner_wins_and_old_owner_cannot_release_it) {
    id_table<std::string> ids;
    BOOST_TEST(ids.assign(1, "first").empty());
    BOOST_TEST(ids.assign(1, "second") == "first");
    BOOST_TEST(ids.owns(1, "second"));
    BOOST_TEST(!ids.owns(1, "first"));
    BOOST_TEST(!ids.release(1, "first"));  // the replaced link ending late keeps the new owner
    BOOST_TEST(ids.owns(1, "second"));
    BOOST_TEST(ids.release(1, "second"));
    BOOST_TEST(ids.find(1) == nullptr);
    ids.assign(2, "a");
    ids.assign(3, "b");
    BOOST_TEST(ids.take_all().size() == 2u);
    BOOST_TEST(ids.size() == 0u);
}

BOOST_AUTO_TEST_CASE(downstream_limits_per_connection_and_per_session) {
    downstream_limits limits{100, 1000};
    BOOST_TEST(!limits.full(100, 1000));
    BOOST_TEST(limits.full(101, 0));
    BOOST_TEST(limits.full(0, 1001));
}

BOOST_AUTO_TEST_CASE(stall_credit_is_spent_by_pauses_and_refills_while_reading) {
    auto const t0 = std::chrono::steady_clock::time_point{} + 100s;
    stall_credit credit(10s, t0);
    auto deadline = credit.begin_pause(t0);
    BOOST_TEST((deadline == t0 + 10s));
    credit.end_pause(t0 + 10s);  // the whole credit spent
    BOOST_TEST((credit.remaining() == 0s));
    // Back to back: the next pause gets only what reading in between earned.
    deadline = credit.begin_pause(t0 + 12s);
    BOOST_TEST((deadline == t0 + 14s));
    credit.end_pause(t0 + 13s);
    BOOST_TEST((credit.remaining() == 1s));
    // A long quiet stretch refills it, never above the limit.
    deadline = credit.begin_pause(t0 + 100s);
    BOOST_TEST((deadline == t0 + 110s));
}

BOOST_AUTO_TEST_SUITE_END()
