// The session in-process, against a scripted connection: the cases that are hard to reach from
// outside (an exception inside a link or the session, a runner that stops reading).

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <optional>
#include <stdexcept>

#include "fake_connection.hpp"
#include "tunnel/client.hpp"
#include "tunnel/link.hpp"
#include "tunnel/session.hpp"
#include "tunnel/session_context.hpp"

using namespace tunnel;
using namespace tunnel::test;
using namespace std::chrono_literals;
using protocol::msg_type;
namespace asio = boost::asio;

namespace {

client_config test_config() {
    client_config c;
    c.endpoint.host = "runner.invalid";
    c.backoff = backoff_policy{std::chrono::milliseconds(0), std::chrono::milliseconds(0)};
    return c;
}

// Runs the io_context until pred holds; fails the test after the limit.
void run_until(asio::io_context& ioc, std::function<bool()> pred, std::chrono::milliseconds limit,
               char const* what) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "timed out waiting for " << what);
        ioc.run_for(5ms);
    }
}

std::size_t count_frames_of(fake_connection const& ws, msg_type type) {
    std::size_t n = 0;
    for (auto const& f : ws.written())
        if (header_of(f).kind() == type) ++n;
    return n;
}

std::size_t count_frames(fake_connection const& ws, msg_type type, std::uint32_t id) {
    std::size_t n = 0;
    for (auto const& f : ws.written())
        if (header_of(f).kind() == type && header_of(f).client_id == id) ++n;
    return n;
}

// A link that opens at once, keeps the DATA it is given (counted, unwritten), and whose upstream
// pump throws when the first DATA has arrived: an internal failure in the middle of a connection.
class throwing_link final : public tunnel::link {
public:
    throwing_link(std::shared_ptr<session_context> ctx, protocol::header const& h)
        : link(std::move(ctx), h.client_id, h.port, protocol::proto::tcp), data_came_(executor_) {}

private:
    asio::awaitable<void> pump_up() override {
        apply(state_.opened());
        while (!got_data_ && !state_.closed()) co_await data_came_.wait();
        throw std::runtime_error("scripted failure in a link");
    }
    asio::awaitable<void> pump_down() override {
        co_await asio::this_coro::throw_if_cancelled(false);
        while (!state_.closed()) co_await downstream_wake_.wait();  // (closed by the failure)
        pump_ended(co_await asio::this_coro::cancellation_state);
    }
    void deliver(chunk_queue::chunk data) override {
        link::deliver(std::move(data));  // queued, never written
        got_data_ = true;
        data_came_.notify();
    }
    void begin_flush() override {}
    void close_socket() override {}

    transport::wake_signal data_came_;
    bool got_data_ = false;
};

// A link whose pumps wait for nothing but their cancellation (nothing else ends them), and then
// take a while to finish (a slow close): when they are done, `ended` says so.
class lingering_link final : public tunnel::link {
public:
    lingering_link(std::shared_ptr<session_context> ctx, protocol::header const& h, std::shared_ptr<int> ended)
        : link(std::move(ctx), h.client_id, h.port, protocol::proto::tcp), ended_(std::move(ended)) {}

private:
    asio::awaitable<void> pump_up() override {
        apply(state_.opened());
        co_await wait_then_linger();
    }
    asio::awaitable<void> pump_down() override { co_await wait_then_linger(); }
    asio::awaitable<void> wait_then_linger() {
        co_await asio::this_coro::throw_if_cancelled(false);
        asio::steady_timer forever(executor_, asio::steady_timer::time_point::max());
        co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));  // only a cancellation ends it
        co_await asio::this_coro::reset_cancellation_state();  // the slow close itself is not cut short
        asio::steady_timer slow(executor_, 200ms);
        co_await slow.async_wait(asio::as_tuple(asio::use_awaitable));
        ++*ended_;
    }
    void begin_flush() override {}
    void close_socket() override {}

    std::shared_ptr<int> ended_;
};

session::link_factory lingering_links(std::shared_ptr<int> ended) {
    return [ended](std::shared_ptr<session_context> ctx, protocol::header const& h) -> std::shared_ptr<tunnel::link> {
        return std::make_shared<lingering_link>(std::move(ctx), h, ended);
    };
}

struct session_fixture {
    asio::io_context ioc;
    std::unique_ptr<fake_connection> owned = std::make_unique<fake_connection>(ioc.get_executor());
    fake_connection* ws = owned.get();
    std::optional<session_outcome> outcome;
    std::exception_ptr failure;

    session::dialer dial_once() {
        return [this]() -> asio::awaitable<transport::dial_result> {
            co_return transport::dial_result{std::move(owned), {}, {}, {}};
        };
    }
    void start(session& s) {
        asio::co_spawn(ioc, s.run(), [this](std::exception_ptr e, session_outcome o) {
            failure = e;
            if (!e) outcome = std::move(o);
        });
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(in_process_session)

BOOST_AUTO_TEST_CASE(an_exception_in_a_link_fails_that_link_only) {
    session_fixture f;
    auto cfg = test_config();
    session s(f.ioc.get_executor(), f.ioc.get_executor(), cfg, f.dial_once(),
              [](std::shared_ptr<session_context> ctx, protocol::header const& h) -> std::shared_ptr<tunnel::link> {
                  return std::make_shared<throwing_link>(std::move(ctx), h);
              });
    f.start(s);
    f.ws->push(frame(msg_type::connect, 1, 80));
    f.ws->push(frame(msg_type::data, 1, 80, protocol::proto::tcp, 1000));
    run_until(f.ioc, [&] { return count_frames(*f.ws, msg_type::close, 1) == 1; }, 5s, "CLOSE for the failed link");
    BOOST_TEST(count_frames(*f.ws, msg_type::connected, 1) == 1u);
    auto const& ctx = *s.context();
    run_until(f.ioc, [&] { return s.running_links() == 0; }, 5s, "the failed link to end");
    BOOST_TEST(ctx.downstream.used() == 0u);  // its bytes were released: the tunnel cannot stay paused
    BOOST_TEST(ctx.ids.find(1) == nullptr);   // its id is free for the next CONNECT
    // The session goes on.
    f.ws->push(frame(msg_type::ping, 9));
    run_until(f.ioc, [&] { return count_frames(*f.ws, msg_type::pong, 9) == 1; }, 5s, "PONG after the failure");
    BOOST_TEST(!f.outcome.has_value());
    s.stop();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 5s, "the session to end");
    BOOST_TEST(!f.failure);
}

BOOST_AUTO_TEST_CASE(a_runner_that_stops_reading_pauses_the_read_loop_and_nothing_is_lost) {
    session_fixture f;
    auto cfg = test_config();
    cfg.write_queue = 64 * 1024;
    session s(f.ioc.get_executor(), f.ioc.get_executor(), cfg, f.dial_once());
    f.start(s);
    f.ws->hold_writes(true);  // the runner stops reading its socket
    constexpr std::size_t pings = 20000;
    for (std::uint32_t i = 1; i <= pings; ++i) f.ws->push(frame(msg_type::ping, i));
    run_until(f.ioc, [&] { return f.ws->reads() > 100; }, 5s, "the session to read");
    f.ioc.run_for(300ms);
    // Each PONG costs 8 bytes + the per-frame bookkeeping: the loop stops near budget / 72.
    BOOST_TEST_MESSAGE("frames read while the runner did not read: " << f.ws->reads());
    BOOST_TEST(f.ws->reads() < 1000u);
    BOOST_TEST(f.ws->unread() > 0u);
    BOOST_TEST(s.context()->upstream.used() <= cfg.write_queue + 200);
    f.ws->hold_writes(false);  // the runner reads again: every PING gets its PONG
    run_until(f.ioc, [&] { return f.ws->written().size() == pings; }, 10s, "every PONG");
    BOOST_TEST(count_frames(*f.ws, msg_type::pong, pings) == 1u);
    s.stop();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 5s, "the session to end");
}

BOOST_AUTO_TEST_CASE(an_upload_leaves_up_to_two_full_data_frames_per_write) {
    session_fixture f;
    asio::ip::tcp::acceptor service(f.ioc, {asio::ip::address_v4::loopback(), 0});
    auto const port = service.local_endpoint().port();
    bytes sent(2 * 1024 * 1024);
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::uint8_t>(i * 7 + i / 4093);
    asio::ip::tcp::socket peer(f.ioc);
    bool service_done = false;
    service.async_accept(peer, [&](boost::system::error_code ec) {
        BOOST_REQUIRE(!ec);
        asio::async_write(peer, asio::buffer(sent), [&](boost::system::error_code wec, std::size_t) {
            BOOST_REQUIRE(!wec);
            peer.close();
            service_done = true;
        });
    });
    session s(f.ioc.get_executor(), f.ioc.get_executor(), test_config(), f.dial_once());
    f.start(s);
    f.ws->hold_writes(true);  // the upload queues up (2 MiB fit in the write queue)
    f.ws->push(frame(msg_type::connect, 1, port));
    run_until(f.ioc, [&] { return service_done; }, 10s, "the service to send everything");
    f.ws->hold_writes(false);
    run_until(f.ioc, [&] { return count_frames(*f.ws, msg_type::close, 1) == 1; }, 10s, "the CLOSE after it");
    bytes got;
    for (auto const& m : f.ws->written())
        if (header_of(m).kind() == msg_type::data && header_of(m).client_id == 1)
            got.insert(got.end(), m.begin() + protocol::header_size, m.end());
    BOOST_TEST((got == sent));
    // More than one full frame in a write takes two frames or more; more than two never goes.
    std::size_t const full = protocol::header_size + protocol::max_data_payload;
    auto const largest = *std::max_element(f.ws->write_sizes().begin(), f.ws->write_sizes().end());
    BOOST_TEST(largest > full);
    BOOST_TEST(largest <= 2 * full);
    s.stop();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 5s, "the session to end");
}

BOOST_AUTO_TEST_CASE(connects_to_a_refused_port_pause_the_read_loop_while_the_runner_does_not_read) {
    // A port nothing listens on (loopback only): every CONNECT is answered with ERROR.
    std::uint16_t refused = 0;
    {
        asio::io_context probe;
        asio::ip::tcp::acceptor a(probe, {asio::ip::address_v4::loopback(), 0});
        refused = a.local_endpoint().port();
    }
    session_fixture f;
    auto cfg = test_config();
    cfg.write_queue = 64 * 1024;
    session s(f.ioc.get_executor(), f.ioc.get_executor(), cfg, f.dial_once());
    f.start(s);
    f.ws->hold_writes(true);
    constexpr std::uint32_t connects = 5000;
    for (std::uint32_t i = 1; i <= connects; ++i) f.ws->push(frame(msg_type::connect, i, refused));
    run_until(f.ioc, [&] { return f.ws->reads() > 100; }, 5s, "the session to read");
    // Until the budget is full: each unanswered CONNECT reserves room for its reply, each ERROR
    // costs its bytes and the bookkeeping.
    run_until(f.ioc, [&] { return s.running_links() == 0; }, 10s, "the refused links to end");
    f.ioc.run_for(300ms);
    BOOST_TEST_MESSAGE("CONNECTs read while the runner did not read: " << f.ws->reads());
    BOOST_TEST(f.ws->reads() < 1500u);
    BOOST_TEST(f.ws->unread() > 0u);
    BOOST_TEST(s.context()->upstream.used() <= cfg.write_queue + 4096);
    f.ws->hold_writes(false);  // every CONNECT gets its ERROR, none is lost
    run_until(f.ioc, [&] { return f.ws->written().size() == connects; }, 20s, "every ERROR");
    BOOST_TEST(count_frames(*f.ws, msg_type::error, connects) == 1u);
    s.stop();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 5s, "the session to end");
}

BOOST_AUTO_TEST_CASE(a_runner_that_never_reads_again_is_dead_after_the_keepalive_timeout) {
    session_fixture f;
    auto cfg = test_config();
    cfg.write_queue = 64 * 1024;
    cfg.keepalive_timeout = 300ms;
    session s(f.ioc.get_executor(), f.ioc.get_executor(), cfg, f.dial_once());
    f.start(s);
    f.ws->hold_writes(true);
    auto const aborted = f.ws->aborted_flag();
    for (std::uint32_t i = 1; i <= 5000; ++i) f.ws->push(frame(msg_type::ping, i));
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 5s, "the session to end");
    BOOST_REQUIRE(f.outcome.has_value());
    BOOST_TEST(f.outcome->reason.find("runner stopped reading") != std::string::npos, f.outcome->reason);
    BOOST_TEST(*aborted);
}

BOOST_AUTO_TEST_CASE(an_exception_in_the_session_ends_it_and_the_client_redials) {
    asio::io_context ioc;
    auto cfg = test_config();
    int dials = 0;
    fake_connection* second = nullptr;
    client c(ioc.get_executor(), cfg, [&]() -> asio::awaitable<transport::dial_result> {
        auto ws = std::make_unique<fake_connection>(ioc.get_executor());
        if (++dials == 1)
            ws->push_throw();  // the first session's read loop throws
        else
            second = ws.get();
        co_return transport::dial_result{std::move(ws), {}, {}, {}};
    });
    std::optional<int> exit_code;
    asio::co_spawn(c.executor(), c.run(), [&](std::exception_ptr e, int code) {
        BOOST_TEST(!e);
        exit_code = code;
    });
    run_until(ioc, [&] { return second != nullptr; }, 5s, "the client to dial again");
    second->push(frame(msg_type::ping, 3));
    run_until(ioc, [&] { return count_frames(*second, msg_type::pong, 3) == 1; }, 5s, "PONG from the new session");
    BOOST_TEST(!exit_code.has_value());
    c.stop();
    run_until(ioc, [&] { return exit_code.has_value(); }, 5s, "the client to stop");
    BOOST_TEST(*exit_code == 0);
}

BOOST_AUTO_TEST_CASE(the_end_of_a_session_cancels_every_link_and_waits_for_it) {
    session_fixture f;
    auto ended = std::make_shared<int>(0);
    session s(f.ioc.get_executor(), f.ioc.get_executor(), test_config(), f.dial_once(), lingering_links(ended));
    f.start(s);
    constexpr int links = 20;
    for (std::uint32_t id = 1; id <= links; ++id) f.ws->push(frame(msg_type::connect, id, 80));
    run_until(f.ioc, [&] { return count_frames_of(*f.ws, msg_type::connected) == links; }, 5s, "every CONNECTED");
    BOOST_TEST(s.running_links() == static_cast<std::size_t>(links));
    // The runner goes away: the links are told only by the session's cancellation, and each takes
    // 200 ms to close. The session must not be over before every one of them is.
    f.ws->abort();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 10s, "the session to end");
    BOOST_TEST(!f.failure);
    BOOST_TEST(*ended == 2 * links);  // both pumps of every link, when run() returned
    BOOST_TEST(s.running_links() == 0u);
}

BOOST_AUTO_TEST_CASE(a_stopped_session_cancels_links_that_wait_for_nothing_else) {
    session_fixture f;
    auto ended = std::make_shared<int>(0);
    session s(f.ioc.get_executor(), f.ioc.get_executor(), test_config(), f.dial_once(), lingering_links(ended));
    f.start(s);
    f.ws->push(frame(msg_type::connect, 1, 80));
    run_until(f.ioc, [&] { return count_frames_of(*f.ws, msg_type::connected) == 1; }, 5s, "CONNECTED");
    s.stop();
    run_until(f.ioc, [&] { return f.outcome.has_value() || f.failure; }, 10s, "the session to end");
    BOOST_REQUIRE(f.outcome.has_value());
    BOOST_TEST(f.outcome->reason == "stopped");
    BOOST_TEST(*ended == 2);
}

BOOST_AUTO_TEST_SUITE_END()
