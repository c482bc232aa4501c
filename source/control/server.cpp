#include "control/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <list>

#include "log/logging.hpp"

namespace tunnel::control {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

struct server::state : std::enable_shared_from_this<server::state> {
    state(asio::any_io_executor ex, identity who_, status_board const& board_, std::function<void()> on_stop_,
          server_options options_)
        : strand(asio::make_strand(ex)),
          acceptor(strand),
          who(std::move(who_)),
          board(board_),
          on_stop(std::move(on_stop_)),
          options(options_) {}

    asio::strand<asio::any_io_executor> strand;
    stream_protocol::acceptor acceptor;
    identity const who;
    status_board const& board;
    std::function<void()> on_stop;
    server_options const options;
    std::list<std::shared_ptr<stream_protocol::socket>> open;  // on the strand
    bool closed = false;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto socket = std::make_shared<stream_protocol::socket>(strand);
            auto [ec] = co_await acceptor.async_accept(*socket, use_tuple);
            if (closed || ec == asio::error::operation_aborted) co_return;
            if (ec) {
                log_debug("control endpoint: accept failed", {{"reason", ec.message()}});
                continue;
            }
            if (open.size() >= options.max_connections) {
                // A few bytes into a fresh socket's empty buffer: never waits, and never blocks.
                error_code ignored;
                socket->non_blocking(true, ignored);
                socket->write_some(asio::buffer(error_answer("busy: too many control connections") + "\n"), ignored);
                continue;
            }
            open.push_back(socket);
            asio::co_spawn(strand, serve(socket, std::prev(open.end())), asio::detached);
        }
    }

    // The peer's uid, or an error text.
    static std::string check_peer(stream_protocol::socket& socket) {
        ucred peer{};
        socklen_t size = sizeof peer;
        if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0)
            return "cannot read the caller's credentials";
        if (peer.uid != ::geteuid())
            return "permission denied: uid " + std::to_string(peer.uid) + " may not ask the client of uid " +
                   std::to_string(::geteuid());
        return {};
    }

    asio::awaitable<void> serve(std::shared_ptr<stream_protocol::socket> socket,
                                std::list<std::shared_ptr<stream_protocol::socket>>::iterator slot) {
        auto self = shared_from_this();
        bool hold = false;
        try {
            hold = co_await answer(*socket);
        } catch (std::exception const& e) {
            log_warn("control endpoint: request failed", {{"reason", e.what()}});
        }
        if (hold && !closed) co_return;  // a "stop" caller: closed with the server, at exit
        error_code ignored;
        socket->close(ignored);
        if (!closed) open.erase(slot);
    }

    // Answers one request; true when the connection is to be held until close().
    asio::awaitable<bool> answer(stream_protocol::socket& socket) {
        auto reply = [&](std::string line) -> asio::awaitable<void> {
            line += '\n';
            asio::steady_timer deadline(strand, options.request_deadline);
            co_await (asio::async_write(socket, asio::buffer(line), use_tuple) || deadline.async_wait(use_tuple));
        };
        if (auto const refused = check_peer(socket); !refused.empty()) {
            log_warn("control endpoint: caller refused", {{"reason", refused}});
            co_await reply(error_answer(refused));
            co_return false;
        }
        std::string line;
        asio::steady_timer deadline(strand, options.request_deadline);
        auto raced = co_await (asio::async_read_until(socket, asio::dynamic_buffer(line, max_request + 1), '\n',
                                                      use_tuple) ||
                               deadline.async_wait(use_tuple));
        if (raced.index() == 1) {
            co_await reply(error_answer("no request within " +
                                        std::to_string(options.request_deadline.count() / 1000) + " s"));
            co_return false;
        }
        auto [ec, n] = std::get<0>(raced);
        if (ec == asio::error::not_found) {
            co_await reply(error_answer("request longer than " + std::to_string(max_request) + " bytes"));
            co_return false;
        }
        if (ec) co_return false;  // the caller left
        line.resize(n - 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto const request = parse_request(line);
        if (auto const* error = std::get_if<std::string>(&request)) {
            co_await reply(error_answer(*error));
            co_return false;
        }
        switch (std::get<request_kind>(request)) {
            case request_kind::status:
                co_await reply(status_answer(who, board.snapshot()));
                co_return false;
            case request_kind::stop:
                log_info("asked to stop over the control endpoint");
                co_await reply(stop_answer(who));
                if (on_stop) on_stop();
                co_return true;
        }
        co_return false;
    }

    void close_all() {
        closed = true;
        error_code ignored;
        acceptor.close(ignored);
        for (auto& socket : open) socket->close(ignored);
        open.clear();
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

void server::start() { asio::co_spawn(state_->strand, state_->accept_loop(), asio::detached); }

void server::close() {
    asio::post(state_->strand, [s = state_] { s->close_all(); });
}

}  // namespace tunnel::control
