#include <boost/test/unit_test.hpp>

#include "tunnel/link_state.hpp"

using tunnel::link_effects;
using tunnel::link_phase;

namespace {
tunnel::link_state open_link() {
    tunnel::link_state s;
    s.opened();
    return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(link_state)

BOOST_AUTO_TEST_CASE(opening_then_open_says_connected_once) {
    tunnel::link_state s;
    BOOST_TEST(s.reply_owed());
    BOOST_TEST(s.accepts_data());  // DATA before CONNECTED is queued
    auto e = s.opened();
    BOOST_TEST(e.send_connected);
    BOOST_TEST(!e.close_socket);
    BOOST_TEST(!s.reply_owed());
    BOOST_TEST((s.phase() == link_phase::open));
}

BOOST_AUTO_TEST_CASE(open_failure_says_error_and_closes) {
    tunnel::link_state s;
    auto e = s.open_failed();
    BOOST_TEST(e.send_error);
    BOOST_TEST(!e.send_close);
    BOOST_TEST(e.close_socket);
    BOOST_TEST(s.closed());
    BOOST_TEST(s.silent());
}

BOOST_AUTO_TEST_CASE(runner_close_flushes_silently) {
    auto s = open_link();
    auto e = s.runner_closed();
    BOOST_TEST(e.start_flushing);
    BOOST_TEST(e.release_id);
    BOOST_TEST(!e.send_close);  // the runner said CLOSE: nothing is said back
    BOOST_TEST(!e.close_socket);
    BOOST_TEST(!s.accepts_data());  // late DATA is ignored
    BOOST_TEST(s.silent());
    auto done = s.flushed();
    BOOST_TEST(done.close_socket);
    BOOST_TEST(!done.send_close);
    BOOST_TEST(s.closed());
}

BOOST_AUTO_TEST_CASE(runner_close_while_opening_flushes_once_open_without_connected) {
    tunnel::link_state s;
    auto e = s.runner_closed();
    BOOST_TEST(!e.start_flushing);  // nothing to flush into yet
    auto o = s.opened();
    BOOST_TEST(!o.send_connected);
    BOOST_TEST(o.start_flushing);  // DATA that came early still goes out
}

BOOST_AUTO_TEST_CASE(replaced_closes_without_a_word_in_any_phase) {
    for (int start = 0; start < 3; ++start) {
        tunnel::link_state s;
        if (start >= 1) s.opened();
        if (start == 2) s.runner_closed();
        auto e = s.replaced();
        BOOST_TEST(!e.send_close);
        BOOST_TEST(!e.send_error);
        BOOST_TEST(e.close_socket);
        BOOST_TEST(s.closed());
        BOOST_TEST(!s.reply_owed());
    }
}

BOOST_AUTO_TEST_CASE(replaced_while_opening_never_says_connected) {
    tunnel::link_state s;
    s.replaced();
    auto e = s.opened();
    BOOST_TEST(!e.send_connected);
    BOOST_TEST(e.close_socket);  // the socket that connected late is closed
}

BOOST_AUTO_TEST_CASE(local_eof_says_close_then_flushes) {
    auto s = open_link();
    auto e = s.local_eof();
    BOOST_TEST(e.send_close);
    BOOST_TEST(e.start_flushing);
    BOOST_TEST(!e.close_socket);
    BOOST_TEST(s.silent());
    BOOST_TEST(!s.local_eof().send_close);  // said once
}

BOOST_AUTO_TEST_CASE(local_error_and_failure_say_close_once) {
    auto s = open_link();
    auto e = s.local_error();
    BOOST_TEST(e.send_close);
    BOOST_TEST(e.close_socket);
    auto again = s.failed();
    BOOST_TEST(!again.send_close);
    BOOST_TEST(!again.close_socket);
}

BOOST_AUTO_TEST_CASE(failure_before_connected_says_error_not_close) {
    tunnel::link_state s;
    auto e = s.failed();
    BOOST_TEST(e.send_error);
    BOOST_TEST(!e.send_close);
    BOOST_TEST(e.close_socket);
}

BOOST_AUTO_TEST_CASE(after_the_runner_let_go_a_failure_is_silent) {
    auto s = open_link();
    s.runner_closed();
    auto e = s.failed();  // e.g. the flush to a stuck service timed out
    BOOST_TEST(!e.send_close);
    BOOST_TEST(!e.send_error);
    BOOST_TEST(e.close_socket);
}

BOOST_AUTO_TEST_SUITE_END()
