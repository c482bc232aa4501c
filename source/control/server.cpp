#include "control/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <variant>

#include "log/logging.hpp"
#include "transport/task_group.hpp"

namespace tunnel::control {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool cancelled(asio::cancellation_state const& state) {
    return state.cancelled() != asio::cancellation_type::none;
}

// "1 s", "1500 ms": the deadline as the answer to a silent caller names it.
std::string said(std::chrono::milliseconds d) {
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s"
                                 : std::to_string(d.count()) + " ms";
}

// Empty when the peer is this client's own user, else why it is refused.
std::string check_peer(stream_protocol::socket& socket) {
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0)
        return "cannot read the caller's credentials";
    if (peer.uid != ::geteuid())
        return "permission denied: uid " + std::to_string(peer.uid) + " may not ask the client of uid " +
               std::to_string(::geteuid());
    return {};
}

// A failed connection or accept loop is logged and dropped; being cancelled is how they end.
void log_failure(char const* what, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (boost::system::system_error const& x) {
        if (x.code() != asio::error::operation_aborted) log_warn(what, {{"reason", x.what()}});
    } catch (std::exception const& x) {
        log_warn(what, {{"reason", x.what()}});
    }
}
}  // namespace

struct server::state : std::enable_shared_from_this<server::state> {
    state(asio::any_io_executor ex, identity who_, status_board const& board_, std::function<void()> on_stop_,
          server_options options_)
        : strand(asio::make_strand(ex)),
          acceptor(strand),
          who(std::move(who_)),
          board(board_),
          on_stop(std::move(on_stop_)),
          options(options_),
          connections(strand) {}

    asio::strand<asio::any_io_executor> strand;
    stream_protocol::acceptor acceptor;
    identity const who;
    status_board const& board;
    std::function<void()> on_stop;
    server_options const options;
    transport::task_group<std::monostate> connections;  // one coroutine per caller
    asio::cancellation_signal stop_accepting;           // ends run()
    bool running = false;                               // on the strand, as everything below
    bool closed = false;

    // Accepts until cancelled; then stops listening, cancels every connection and waits for them.
    asio::awaitable<void> run() {
        auto const self = shared_from_this();
        co_await accept_until_cancelled();
        // Not listening any more before the connections end: a client that asked this one to stop
        // finds the name free once its connection closes.
        error_code ignored;
        acceptor.close(ignored);
        connections.close();
        connections.emit(asio::cancellation_type::terminal);
        co_await asio::this_coro::reset_cancellation_state();
        co_await connections.wait();
    }

    asio::awaitable<void> accept_until_cancelled() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
            if (ec) {
                // (Out of descriptors, say: let a moment pass rather than spin.)
                log_debug("control endpoint: accept failed", {{"reason", ec.message()}});
                asio::steady_timer pause(strand, std::chrono::milliseconds(100));
                co_await pause.async_wait(use_tuple);
                if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
                continue;
            }
            if (connections.size() >= options.max_connections) {
                // A few bytes into a fresh socket's empty buffer: never waits, and never blocks.
                error_code ignored;
                socket.non_blocking(true, ignored);
                socket.write_some(asio::buffer(busy_answer() + "\n"), ignored);
                continue;
            }
            connections.spawn(strand, {}, serve(std::move(socket)),
                              [](std::monostate&, std::exception_ptr e) {
                                  log_failure("control endpoint: request failed", e);
                              });
        }
    }

    // One caller: its request, the answer, and the end of the connection (the socket closes when
    // this returns). A "stop" caller is held until the server is closed.
    asio::awaitable<void> serve(stream_protocol::socket socket) {
        bool const hold = co_await answer(socket);
        if (!hold || cancelled(co_await asio::this_coro::cancellation_state)) co_return;
        asio::steady_timer until_closed(strand, asio::steady_timer::time_point::max());
        co_await until_closed.async_wait(use_tuple);
    }

    // Answers one request; true when the connection is to be held until the server closes.
    asio::awaitable<bool> answer(stream_protocol::socket& socket) {
        if (auto const refused = check_peer(socket); !refused.empty()) {
            log_warn("control endpoint: caller refused", {{"reason", refused}});
            co_await reply(socket, error_answer(refused));
            co_return false;
        }
        std::string line;
        asio::steady_timer deadline(strand, options.request_deadline);
        auto raced = co_await (
            asio::async_read_until(socket, asio::dynamic_buffer(line, max_request + 1), '\n', use_tuple) ||
            deadline.async_wait(use_tuple));
        if (cancelled(co_await asio::this_coro::cancellation_state)) co_return false;
        if (raced.index() == 1) {
            // Callers that connect and say nothing must not keep the endpoint full.
            co_await reply(socket, error_answer("no request within " + said(options.request_deadline)));
            co_return false;
        }
        auto [ec, n] = std::get<0>(raced);
        if (ec == asio::error::not_found) {
            co_await reply(socket,
                           error_answer("request longer than " + std::to_string(max_request) + " bytes"));
            co_return false;
        }
        if (ec) co_return false;  // the caller left
        line.resize(n - 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto const request = parse_request(line);
        if (auto const* error = std::get_if<std::string>(&request)) {
            co_await reply(socket, error_answer(*error));
            co_return false;
        }
        switch (std::get<request_kind>(request)) {
            case request_kind::status:
                co_await reply(socket, status_answer(who, board.snapshot()));
                co_return false;
            case request_kind::stop:
                log_info("asked to stop over the control endpoint");
                co_await reply(socket, stop_answer(who));
                if (on_stop) on_stop();
                co_return true;
        }
        co_return false;
    }

    // Writes one answer line, within the request deadline (a caller that reads nothing is left).
    asio::awaitable<void> reply(stream_protocol::socket& socket, std::string line) {
        line += '\n';
        asio::steady_timer deadline(strand, options.request_deadline);
        co_await (asio::async_write(socket, asio::buffer(line), use_tuple) || deadline.async_wait(use_tuple));
    }
};

server::server(asio::any_io_executor ex, int listening_fd, identity who, status_board const& board,
               std::function<void()> on_stop, server_options options)
    : state_(std::make_shared<state>(std::move(ex), std::move(who), board, std::move(on_stop), options)) {
    error_code ec;
    state_->acceptor.assign(stream_protocol(), listening_fd, ec);
    if (ec) ::close(listening_fd);
}

server::~server() { close(); }

void server::start() {
    asio::post(state_->strand, [s = state_] {
        if (s->running || s->closed) return;
        s->running = true;
        asio::co_spawn(s->strand, s->run(),
                       asio::bind_cancellation_slot(s->stop_accepting.slot(), [](std::exception_ptr e) {
                           log_failure("control endpoint: stopped", e);
                       }));
    });
}

void server::close() {
    asio::post(state_->strand, [s = state_] {
        if (s->closed) return;
        s->closed = true;
        if (s->running) {
            s->stop_accepting.emit(asio::cancellation_type::terminal);
        } else {
            error_code ignored;
            s->acceptor.close(ignored);
        }
    });
}

}  // namespace tunnel::control
