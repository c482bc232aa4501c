// A runner that misbehaves: floods the client while reading nothing (memory must stay bounded),
// sends a close frame and then goes silent (the client must redial promptly), refuses the upgrade
// (the log must say how, and a redirect must not be followed).

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <optional>
#include <sstream>

#include "harness.hpp"
#include "raw_runner.hpp"

using namespace tunnel;
using namespace tunnel::test;
using protocol::msg_type;
using protocol::proto;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto flood_time = 15s;
// Default buffers: 4 MiB write queue, 64 MiB session buffer; the floods queue replies, not DATA.
// A client that queues every reply grows by tens of MiB in flood_time (debug build, the first
// ~4 MB go to the kernel's send buffer) to hundreds (release build).
constexpr std::size_t growth_limit_kib = 32 * 1024;

// A local service that holds every connection until the client closes it (small buffer: thousands
// of these are open at once).
asio::awaitable<void> hold_handler(tcp::socket s) {
    std::array<std::uint8_t, 256> buf;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) co_return;
    }
}

// CONNECT i for port, as a flood's frame maker.
std::function<protocol::frame_bytes(std::uint32_t)> connects_to(std::uint16_t port) {
    return [port](std::uint32_t i) { return make_frame(msg_type::connect, proto::tcp, i, port); };
}

struct flood_report {
    std::size_t frames = 0;
    std::size_t baseline_kib = 0;      // VmRSS with the tunnel up, before the flood
    std::size_t growth_kib = 0;        // peak VmHWM over the baseline
    std::vector<std::size_t> rss_kib;  // one sample per second of flood
    bool client_alive = true;
    std::string last_words;  // the end of the client's log, when it exited
};

// A runner for floods: completes the first upgrade and hands over the raw tunnel socket.
struct flood_runner {
    explicit flood_runner(asio::any_io_executor ex)
        : raw(ex, [tunnel = tunnel](raw_request r) -> asio::awaitable<void> {
              if (r.index != 0) co_return;  // a redial: the flood is over for this client
              co_await accept_upgrade(r);
              *tunnel = std::move(r.socket);
          }) {}
    std::shared_ptr<std::optional<tcp::socket>> tunnel = std::make_shared<std::optional<tcp::socket>>();
    raw_runner raw;
};

// Writes make(1), make(2), ... to the client in batches of WebSocket messages, as fast as the
// socket takes them (one batch in flight: this process stays small), for flood_time or max_frames,
// reading nothing from the tunnel meanwhile. Samples the client's memory once a second.
asio::awaitable<flood_report> flood(client_process& client, flood_runner& runner,
                                    std::function<protocol::frame_bytes(std::uint32_t)> make, std::size_t max_frames) {
    co_await wait_until([&] { return runner.tunnel->has_value(); }, 10s, "the tunnel");
    auto& socket = **runner.tunnel;
    // One PING/PONG: the session runs. From here on nothing is read.
    bytes ping;
    append_server_message(ping, make_frame(msg_type::ping, proto::tcp, 0xFFFFFF00, 0));
    co_await write_all(socket, ping);
    auto const pong = co_await read_client_message(socket);
    auto const parsed = protocol::parse(pong.payload);
    BOOST_REQUIRE(parsed && parsed->header.kind() == msg_type::pong);

    flood_report report;
    report.baseline_kib = client.rss_kib();
    struct state {
        bool stop = false;
        bool done = false;
        std::size_t sent = 0;
    };
    auto st = std::make_shared<state>();
    auto const ex = co_await asio::this_coro::executor;  // not inside the call: GCC 12 mishandles that
    asio::co_spawn(
        ex,
        [st, tunnel = runner.tunnel, make, max_frames]() -> asio::awaitable<void> {
            constexpr std::size_t batch_frames = 4096;
            bytes batch;
            while (!st->stop && st->sent < max_frames) {
                batch.clear();
                auto const n = std::min(batch_frames, max_frames - st->sent);
                for (std::size_t k = 1; k <= n; ++k)
                    append_server_message(batch, make(static_cast<std::uint32_t>(st->sent + k)));
                auto [ec, written] = co_await asio::async_write(**tunnel, asio::buffer(batch), use_tuple);
                if (ec) break;
                st->sent += n;
            }
        },
        [st](std::exception_ptr) { st->done = true; });

    auto const start = clock_type::now();
    std::size_t peak_hwm = report.baseline_kib;
    while (clock_type::now() - start < flood_time) {
        co_await pause(1s);  // paces the sampler
        if (client.poll_exit()) {
            report.client_alive = false;
            auto const log = client.log();
            report.last_words = log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
            break;
        }
        report.rss_kib.push_back(client.rss_kib());
        peak_hwm = std::max(peak_hwm, client.hwm_kib());
    }
    st->stop = true;
    boost::system::error_code ignored;
    socket.close(ignored);  // ends a write the client no longer reads
    co_await wait_until([&] { return st->done; }, 5s, "the flood to stop");
    report.frames = st->sent;
    report.growth_kib = peak_hwm - report.baseline_kib;
    co_return report;
}

void check_bounded(flood_report const& r, std::string const& what) {
    std::ostringstream samples;
    for (auto kib : r.rss_kib) samples << ' ' << kib / 1024;
    BOOST_TEST_MESSAGE(what << ": " << r.frames << " frames written; client VmRSS " << r.baseline_kib / 1024
                            << " MiB before, per second (MiB):" << samples.str() << "; VmHWM growth "
                            << r.growth_kib / 1024 << " MiB (limit " << growth_limit_kib / 1024 << ")");
    BOOST_TEST(r.client_alive, what << ": the client exited during the flood; its log ends with:\n" << r.last_words);
    BOOST_TEST(r.growth_kib < growth_limit_kib, what << ": client memory grew by " << r.growth_kib << " KiB");
}

// The floods measure the client's memory, which only means something without a sanitizer (ASan
// keeps freed memory in quarantine, TSan adds shadow memory, and a client out of descriptors
// cannot start TSan's symbolizer, so its suppressions cannot match) and without an emulator.
boost::test_tools::assertion_result memory_figures_mean_something(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result run(memory_figures_meaningful);
    if (!memory_figures_meaningful) run.message() << "memory floods: " << memory_figures_meaningless_because;
    return run;
}

// Each flood keeps the CPU busy for flood_time: ctest runs them one at a time (tests/CMakeLists.txt).
boost::unit_test::label const cpu_flood("cpu_flood");

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Whether line holds word; a number must stand alone, not be part of a port, a time or a delay.
bool holds(std::string const& line, std::string const& word) {
    bool const number = !word.empty() && std::all_of(word.begin(), word.end(), is_digit);
    for (auto at = line.find(word); at != std::string::npos; at = line.find(word, at + 1)) {
        if (!number) return true;
        bool const before = at > 0 && is_digit(line[at - 1]);
        bool const after = at + word.size() < line.size() && is_digit(line[at + word.size()]);
        if (!before && !after) return true;
    }
    return false;
}

// The first log line holding every one of words.
std::optional<std::string> line_with(std::string const& log, std::vector<std::string> const& words) {
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line))
        if (std::all_of(words.begin(), words.end(), [&](auto const& w) { return holds(line, w); }))
            return line;
    return std::nullopt;
}

// The client's warnings and errors, for a failure message.
std::string warnings(std::string const& log) {
    std::istringstream in(log);
    std::string line, out;
    while (std::getline(in, line))
        if (line.find(" WARN ") != std::string::npos || line.find(" ERROR ") != std::string::npos)
            out += line + "\n";
    return out;
}

// The runner refuses every upgrade: the client must log a line with every one of words (waited
// for with a deadline), then dial the runner again.
asio::awaitable<void> expect_refusal_logged(client_process& client, raw_runner& runner,
                                            std::vector<std::string> words) {
    std::optional<std::string> line;
    try {
        co_await wait_until([&] { return (line = line_with(client.log(), words)).has_value(); }, 5s,
                            "the refusal in the log");
    } catch (std::runtime_error const&) {
        // Reported below, with what was logged instead.
    }
    std::string wanted;
    for (auto const& w : words) wanted += " \"" + w + "\"";
    BOOST_TEST(line.has_value(), "no log line with" << wanted << "; the client logged:\n"
                                                    << warnings(client.log()));
    if (line) BOOST_TEST_MESSAGE("logged: " << *line);
    auto const attempts = runner.requests();
    co_await wait_until([&] { return runner.requests() > attempts; }, 10s, "another attempt");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_runner)

BOOST_AUTO_TEST_CASE(ping_flood_from_a_runner_that_never_reads_keeps_memory_bounded,
                     *boost::unit_test::precondition(memory_figures_mean_something) * cpu_flood) {
    asio::io_context ioc;
    flood_runner runner(ioc.get_executor());
    client_process client(client_args(runner.raw.port(), "c1", {"--log-level", "warn"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto const ping = [](std::uint32_t i) { return make_frame(msg_type::ping, proto::tcp, i, 0); };
            auto const report = co_await flood(client, runner, ping, 200'000'000);
            check_bounded(report, "PING flood");
        },
        45s);
}

BOOST_AUTO_TEST_CASE(connect_flood_to_a_refused_port_keeps_memory_bounded,
                     *boost::unit_test::precondition(memory_figures_mean_something) * cpu_flood) {
    asio::io_context ioc;
    auto const refused = unused_tcp_port();
    flood_runner runner(ioc.get_executor());
    client_process client(client_args(runner.raw.port(), "c1", {"--log-level", "warn"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto const report = co_await flood(client, runner, connects_to(refused), 50'000'000);
            check_bounded(report, "CONNECT flood, refused port");
        },
        45s);
}

BOOST_AUTO_TEST_CASE(connect_flood_with_max_connections_opens_no_more_and_keeps_memory_bounded,
                     *boost::unit_test::precondition(memory_figures_mean_something) * cpu_flood) {
    // With --max-connections the bound no longer depends on the descriptor limit: every CONNECT
    // over it is answered with ERROR and opens nothing.
    asio::io_context ioc;
    tcp_service holder(ioc.get_executor(), hold_handler);
    flood_runner runner(ioc.get_executor());
    client_process client(client_args(runner.raw.port(), "c1", {"--log-level", "error", "--max-connections", "500"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto const report = co_await flood(client, runner, connects_to(holder.port()), 50'000'000);
            BOOST_TEST_MESSAGE("open port, --max-connections 500: the service accepted " << holder.accepted()
                                                                                         << " connections");
            check_bounded(report, "CONNECT flood, open port, --max-connections 500");
            BOOST_TEST(holder.accepted() <= 500u);
        },
        45s);
}

BOOST_AUTO_TEST_CASE(connect_flood_to_an_open_port_keeps_memory_bounded,
                     *boost::unit_test::precondition(memory_figures_mean_something) * cpu_flood) {
    asio::io_context ioc;
    tcp_service holder(ioc.get_executor(), hold_handler);
    flood_runner runner(ioc.get_executor());
    // 4096 descriptors: the client runs out of them during the flood, as a real one would.
    client_process client(client_args(runner.raw.port(), "c1", {"--log-level", "warn"}), {}, 4096);
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto const report = co_await flood(client, runner, connects_to(holder.port()), 50'000'000);
            BOOST_TEST_MESSAGE("open port: the service accepted " << holder.accepted() << " connections");
            check_bounded(report, "CONNECT flood, open port");
        },
        45s);
}

BOOST_AUTO_TEST_CASE(close_frame_then_silence_client_drops_the_socket_and_redials) {
    asio::io_context ioc;
    std::optional<clock_type::time_point> close_sent, first_dropped, second_dial;
    raw_runner runner(ioc.get_executor(), [&](raw_request r) -> asio::awaitable<void> {
        if (r.index == 0) {
            co_await accept_upgrade(r);
            co_await write_all(r.socket, server_close_frame(1000));
            close_sent = clock_type::now();
            // Never closes and never answers: reads and discards until the client drops the socket.
            co_await read_to_eof(r.socket);
            first_dropped = clock_type::now();
        } else if (r.index == 1) {
            second_dial = clock_type::now();
            co_await read_to_eof(r.socket);
        }
    });
    client_process client(client_args(runner.port(), "c1", {"--reconnect-delay", "0.2"}));
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await wait_until([&] { return close_sent.has_value(); }, 10s,
                                "the tunnel and the close frame");
            // Waits long enough to measure a slow redial; the limit is checked below.
            co_await wait_until([&] { return second_dial.has_value(); }, 25s, "the client to dial again");
            auto const redial =
                std::chrono::duration_cast<std::chrono::milliseconds>(*second_dial - *close_sent);
            BOOST_TEST_MESSAGE("second dial " << redial.count() << " ms after the close frame");
            BOOST_TEST((redial < scaled_for_build(4s)),
                       "the client dialed again " << redial.count() << " ms after the close frame");
            co_await wait_until([&] { return first_dropped.has_value(); }, scaled_for_build(2s),
                                "the client to drop the first connection");
        },
        45s);
}

BOOST_AUTO_TEST_CASE(upgrade_refused_with_403_is_logged_with_status_and_reason) {
    asio::io_context ioc;
    raw_runner runner(ioc.get_executor(), [](raw_request r) -> asio::awaitable<void> {
        co_await refuse_upgrade(r, "HTTP/1.1 403 Forbidden");
    });
    client_process client(client_args(runner.port(), "c1", {"--reconnect-delay", "0.2"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const words{"403", "Forbidden"};
        co_await expect_refusal_logged(client, runner, words);
    });
}

BOOST_AUTO_TEST_CASE(upgrade_refused_with_500_is_logged_with_status_and_reason) {
    asio::io_context ioc;
    raw_runner runner(ioc.get_executor(), [](raw_request r) -> asio::awaitable<void> {
        co_await refuse_upgrade(r, "HTTP/1.1 500 Internal Server Error");
    });
    client_process client(client_args(runner.port(), "c1", {"--reconnect-delay", "0.2"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const words{"500", "Internal Server Error"};
        co_await expect_refusal_logged(client, runner, words);
    });
}

BOOST_AUTO_TEST_CASE(redirect_is_logged_with_its_location_and_not_followed) {
    asio::io_context ioc;
    tcp_service elsewhere(ioc.get_executor(), hold_handler);
    std::string const location = "http://127.0.0.1:" + std::to_string(elsewhere.port()) + "/elsewhere";
    raw_runner runner(ioc.get_executor(), [location](raw_request r) -> asio::awaitable<void> {
        std::vector<std::pair<std::string, std::string>> headers{{"Location", location}};
        co_await refuse_upgrade(r, "HTTP/1.1 301 Moved Permanently", std::move(headers));
    });
    client_process client(client_args(runner.port(), "c1", {"--reconnect-delay", "0.2"}));
    run_test(ioc, [&]() -> asio::awaitable<void> {
        std::vector<std::string> const words{"301", "Moved Permanently"};
        co_await expect_refusal_logged(client, runner, words);
        BOOST_TEST(client.log().find(location) != std::string::npos,
                   "the log does not name the Location " << location);
        BOOST_TEST(elsewhere.accepted() == 0u, "the client followed the redirect");
    });
}

BOOST_AUTO_TEST_SUITE_END()
