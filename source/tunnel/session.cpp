#include "tunnel/session.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <exception>
#include <vector>

#include "log/logging.hpp"
#include "tunnel/link.hpp"
#include "tunnel/session_context.hpp"
#include "tunnel/tcp_link.hpp"
#include "tunnel/udp_link.hpp"

namespace tunnel {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using protocol::msg_type;
using transport::ws_connection;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How long a polite close may wait for the runner's answer before the socket is reset.
constexpr std::chrono::milliseconds close_grace{1000};
// How long the end of a session waits for its links before it says that it still waits.
constexpr std::chrono::milliseconds links_grace{2000};
constexpr char const* stopped = "stopped";

std::string describe_read_end(error_code ec, ws_connection const& ws) {
    if (ws.peer_close_code() != 0 || ec == beast::websocket::error::closed)
        return "runner closed the tunnel (close code " + std::to_string(ws.peer_close_code()) + ")";
    if (ec == beast::websocket::error::message_too_big) return "runner sent a message over the size limit";
    return "connection lost: " + ec.message();
}

std::shared_ptr<link> make_default_link(std::shared_ptr<session_context> ctx, protocol::header const& h) {
    if (h.transport() == protocol::proto::tcp) return std::make_shared<tcp_link>(std::move(ctx), h.client_id, h.port);
    return std::make_shared<udp_link>(std::move(ctx), h.client_id, h.port);
}

// Waits for a notification of `signal` or the deadline; true when notified (or cancelled).
asio::awaitable<bool> wait_until(transport::wake_signal& signal, clock::time_point deadline) {
    asio::steady_timer timer(signal.get_executor(), deadline);
    auto [order, signal_result, timer_ec] =
        co_await asio::experimental::make_parallel_group(signal.wait(), timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::deferred);
    co_return order[0] == 0;
}

}  // namespace

session::session(asio::any_io_executor io, asio::any_io_executor strand, client_config const& config, dialer dial,
                 link_factory make_link, std::shared_ptr<status_board> board)
    : ctx_(std::make_shared<session_context>(std::move(io), strand, config,
                                             board ? std::move(board) : std::make_shared<status_board>())),
      links_(strand),
      dial_(std::move(dial)),
      make_link_(make_link ? std::move(make_link) : link_factory(make_default_link)),
      limits_{config.conn_buffer, config.session_buffer},
      credit_(config.stall_timeout, clock::now()),
      stop_requests_(strand, 1) {}

// run() ends every link and waits for it; a session destroyed without running has none.
session::~session() = default;

void session::end(std::string reason) {
    if (end_reason_.empty()) end_reason_ = std::move(reason);
}

asio::awaitable<session_outcome> session::run() {
    auto const& cfg = ctx_->config;
    if (cfg.reach.proxy)
        log_info("connecting to runner", {{"url", cfg.endpoint.url()}, {"proxy", cfg.reach.proxy->display()}});
    else
        log_info("connecting to runner", {{"url", cfg.endpoint.url()}});

    auto& board = *ctx_->board;
    board.dialing();
    board.set_state(tunnel_state::connecting);
    // The dial races the stop request so that SIGTERM during a slow connect is prompt.
    auto raced = co_await (dial_() || stop_requests_.async_receive(use_tuple));
    if (raced.index() == 1) co_return session_outcome{false, {}, stopped};
    auto dialed = std::move(std::get<0>(raced));
    if (dialed.error) {
        auto const reason = dialed.describe();
        log_warn("cannot reach runner", {{"url", cfg.endpoint.url()}, {"reason", reason}});
        board.record_error(reason);
        co_return session_outcome{false, {}, reason};
    }
    ws_connection& ws = *dialed.connection;
    log_info("tunnel up", {{"url", cfg.endpoint.url()}, {"container_id", cfg.container_id}});
    auto const up_at = clock::now();
    board.session_up();
    board.set_state(tunnel_state::up);

    // The first of these to end, or to throw, cancels the others; each says why it ended. (Not
    // operator||, which waits on for another to succeed when one throws.)
    auto [order, read_error, write_error, keepalive_error, close_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ctx_->strand, read_loop(ws), asio::deferred),
            asio::co_spawn(ctx_->strand, write_loop(ws), asio::deferred),
            asio::co_spawn(ctx_->strand, keepalive(ws), asio::deferred),
            asio::co_spawn(ctx_->strand, close_on_stop(ws), asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::deferred);
    std::exception_ptr failure;
    for (auto const& e : {read_error, write_error, keepalive_error, close_error})
        if (e && !failure) failure = e;
    if (failure) end("internal error");
    ws.abort();  // (a polite close tore the connection down already: then nothing happens)
    ctx_->writer.stop();
    end_links();
    co_await wait_for_links();
    if (failure) std::rethrow_exception(failure);  // the client logs it and dials again

    log_info("tunnel down", {{"reason", end_reason_}});
    if (end_reason_ != stopped) {
        board.record_error(end_reason_);
        board.set_state(tunnel_state::connecting);
    }
    co_return session_outcome{true, clock::now() - up_at, end_reason_};
}

void session::stop() { stop_requests_.try_send(error_code{}); }

std::size_t session::running_links() const { return ctx_->links.load(std::memory_order_relaxed); }

asio::awaitable<void> session::read_loop(ws_connection& ws) {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    // Each message is read into a buffer of its own size class: a link may keep it (a large DATA
    // is queued as it was read), and the next read then starts a new one.
    constexpr std::size_t usual_message = protocol::header_size + 64 * 1024;
    protocol::frame_bytes raw;
    for (;;) {
        raw.clear();
        raw.reserve(usual_message);
        bool binary = true;
        auto const ec = co_await ws.read_message(raw, binary);
        if (ec) {
            end(describe_read_end(ec, ws));
            co_return;
        }
        std::shared_ptr<link> target;
        if (!binary) {
            log_warn("ignored text message from runner", {{"bytes", raw.size()}});
        } else if (auto message = protocol::parse(raw)) {
            ctx_->board->frame_in();
            target = dispatch(*message, raw);
        } else {
            log_warn("ignored message shorter than a header", {{"bytes", raw.size()}});
        }
        // The frame in hand is done. Read the next one only while both budgets have room, so that
        // no sequence of runner frames can grow memory (replies count against the upstream one).
        if (ctx_->upstream.full()) {
            read_paused_ = true;
            bool const alive = co_await wait_for_upstream_room();  // (GCC 12: not inside a condition)
            read_paused_ = false;
            if (!alive) {
                end("runner stopped reading (no room in the write queue for the keepalive timeout)");
                co_return;
            }
        }
        if (target && limits_.full(target->pending_bytes(), ctx_->downstream.used())) {
            read_paused_ = true;
            co_await wait_for_downstream_room(std::move(target));
            read_paused_ = false;
        }
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) co_return;
    }
}

asio::awaitable<void> session::write_loop(ws_connection& ws) {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    if (auto const ec = co_await ctx_->writer.run(ws)) {
        end("connection lost: write failed: " + ec.message());
        co_return;
    }
    // The writer was stopped: a polite close is under way, and the session ends without us.
    auto const cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(cs)) co_return;
    transport::wake_signal never(ctx_->strand);
    co_await never.wait();  // (cancelled when the group ends)
}

asio::awaitable<void> session::close_on_stop(ws_connection& ws) {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    auto [ec] = co_await stop_requests_.async_receive(use_tuple);
    if (ec) co_return;  // cancelled: the session ends for another reason
    end(stopped);
    end_links();          // local sockets close now; the runner learns from the close frame
    ctx_->writer.stop();  // nothing may follow the close frame
    asio::steady_timer grace(ctx_->strand, close_grace);
    auto raced = co_await (ws.close(beast::websocket::close_code::going_away) || grace.async_wait(use_tuple));
    if (raced.index() == 1 || std::get<0>(raced)) ws.abort();
    // The read loop ends with the runner's answer (or the reset); this waits for it.
    auto const cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(cs)) co_return;
    transport::wake_signal never(ctx_->strand);
    co_await never.wait();
}

asio::awaitable<void> session::keepalive(ws_connection& ws) {
    co_await asio::this_coro::throw_if_cancelled(false);  // cancelled waits return, not throw
    // A tick every half timeout looks for any frame from the runner since the last one (pongs
    // and pings count): none for half the timeout gets a ping, none for all of it ends the
    // session. Nothing is done per frame read.
    auto const timeout = ctx_->config.keepalive_timeout;
    auto seen = ws.frames_received();
    auto heard_at = clock::now();
    asio::steady_timer tick(ctx_->strand);
    for (;;) {
        tick.expires_after(timeout / 2);
        auto [ec] = co_await tick.async_wait(use_tuple);
        if (ec) co_return;  // cancelled: the session ends
        auto const now = clock::now();
        // While the read loop pauses (a budget is full) nothing is read, so nothing is heard: the
        // pause has deadlines of its own.
        if (ws.frames_received() != seen || read_paused_) {
            seen = ws.frames_received();
            heard_at = now;
            continue;
        }
        if (now - heard_at >= timeout) {  // (two ticks since the last sign of life)
            end("runner did not answer keepalive pings (dead peer)");
            co_return;
        }
        ws.ping();
    }
}

std::shared_ptr<link> session::dispatch(protocol::message const& message, protocol::frame_bytes& raw) {
    auto const& h = message.header;
    auto const* owner = ctx_->ids.find(h.client_id);
    switch (decide(h, owner != nullptr, links_.closed())) {
        case frame_action::open:
        case frame_action::replace: {
            bool const replacing = owner != nullptr;
            // The policy is checked before any socket is made; a link being replaced is on its
            // way out and does not count.
            std::size_t open = running_links();
            if (replacing && open > 0) --open;
            if (auto why = ctx_->config.ports.refusal(h.port, open)) {
                refuse_connect(h, replacing, *why);
                return nullptr;
            }
            open_link(h, replacing);
            return nullptr;
        }
        case frame_action::refuse_proto:
            log_warn("connect with unknown protocol",
                     {{"client_id", h.client_id}, {"proto", static_cast<unsigned>(h.proto)}});
            ctx_->queue(protocol::encode(protocol::make_header(msg_type::error, h.transport(), h.client_id, h.port),
                                         "unsupported protocol " + std::to_string(h.proto)));
            return nullptr;
        case frame_action::deliver: {
            auto target = *owner;
            target->post_data(raw);
            return target;
        }
        case frame_action::close: {
            auto target = *owner;
            log_debug("close from runner", {{"client_id", h.client_id}});
            // The runner has forgotten this id: frames not yet sent would reach whoever reuses it.
            ctx_->ids.release(h.client_id, target);
            ctx_->writer.drop(target->serial());
            target->post_runner_close();
            return nullptr;
        }
        case frame_action::pong:
            ctx_->queue(protocol::encode(protocol::make_header(msg_type::pong, h.transport(), h.client_id, h.port)));
            return nullptr;
        case frame_action::ignore_client_side:
            log_debug("ignored client-side message from runner",
                      {{"type", protocol::type_name(h.type)}, {"client_id", h.client_id}});
            return nullptr;
        case frame_action::ignore_unknown_type:
            log_warn("ignored unknown message type",
                     {{"type", static_cast<unsigned>(h.type)}, {"client_id", h.client_id}});
            return nullptr;
        case frame_action::ignore_unknown_id:
        case frame_action::ignore_stopping:
            return nullptr;
    }
    return nullptr;
}

void session::refuse_connect(protocol::header const& h, bool replacing, std::string const& why) {
    if (replacing) {
        // The runner gave this id to someone new: the old stream is over either way.
        auto old = *ctx_->ids.find(h.client_id);
        ctx_->ids.release(h.client_id, old);
        ctx_->writer.drop(old->serial());
        old->post_replaced();
    }
    log_warn("connection refused by policy", {{"client_id", h.client_id}, {"port", h.port}, {"reason", why}});
    ctx_->queue(protocol::encode(protocol::make_header(msg_type::error, h.transport(), h.client_id, h.port), why));
}

void session::open_link(protocol::header const& h, bool replacing) {
    auto created = make_link_(ctx_, h);
    auto old = ctx_->ids.assign(h.client_id, created);
    if (replacing && old) {
        // Another user reused this id: the runner now routes it to them, so the newest CONNECT wins
        // and the old stream is closed without a word (a CLOSE would tear the new one down).
        log_info("connection replaced by a newer CONNECT", {{"client_id", h.client_id}, {"port", old->port()}});
        ctx_->writer.drop(old->serial());
        old->post_replaced();
    }
    created->start(links_);  // its pair, children of the session
}

asio::awaitable<bool> session::wait_for_upstream_room() {
    // Progress (bytes leaving the queue) restarts the clock: a slow runner is fine, a stuck one
    // is dead after keepalive_timeout.
    auto& budget = ctx_->upstream;
    auto deadline = clock::now() + ctx_->config.keepalive_timeout;
    while (budget.full()) {
        ctx_->wake_reader_on_release(budget);
        if (!budget.full()) break;
        auto const before = budget.used();
        bool const woken = co_await wait_until(ctx_->read_gate, deadline);
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) co_return true;  // the session ends anyway
        if (!woken && budget.used() >= before) co_return false;
        if (budget.used() < before) deadline = clock::now() + ctx_->config.keepalive_timeout;
    }
    co_return true;
}

asio::awaitable<void> session::wait_for_downstream_room(std::shared_ptr<link> target) {
    // A connection (or all of them together) is full: stop reading the tunnel until it drains, so
    // memory stays bounded and nothing is dropped; but only for as long as the stall credit lasts.
    auto over = [&] { return limits_.full(target->pending_bytes(), ctx_->downstream.used()); };
    log_debug("local buffers full, tunnel paused",
              {{"client_id", target->client_id()}, {"bytes", target->pending_bytes()}});
    auto const deadline = credit_.begin_pause(clock::now());
    while (over()) {
        ctx_->wake_reader_on_release(ctx_->downstream);
        if (!over()) break;
        bool const woken = co_await wait_until(ctx_->read_gate, deadline);
        auto const cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) co_return;  // the session ends
        if (!woken) break;             // the credit is spent
    }
    credit_.end_pause(clock::now());
    if (over()) cut_fullest_links(target);
}

void session::cut_fullest_links(std::shared_ptr<link> const& target) {
    // Still full: close the connections holding the most bytes, never the whole tunnel.
    std::vector<std::shared_ptr<link>> candidates;
    links_.for_each([&](std::shared_ptr<link> const& l) {
        if (l->pending_bytes() > 0) candidates.push_back(l);
    });
    std::sort(candidates.begin(), candidates.end());  // each link is there once per pump: once will do
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    std::sort(candidates.begin(), candidates.end(),
              [](auto const& a, auto const& b) { return a->pending_bytes() > b->pending_bytes(); });
    std::size_t session_bytes = ctx_->downstream.used();
    std::size_t target_bytes = target->pending_bytes();
    for (auto const& victim : candidates) {
        if (!limits_.full(target_bytes, session_bytes)) break;
        session_bytes -= std::min(session_bytes, victim->pending_bytes());
        if (victim == target) target_bytes = 0;
        victim->post_fail("local service stopped reading (stall timeout)");
    }
}

void session::end_links() {
    links_.close();
    ctx_->ids.take_all();  // the runner forgets every id of this tunnel
    links_.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> session::wait_for_links() {
    asio::steady_timer patience(ctx_->strand, links_grace);
    auto raced = co_await (links_.wait() || patience.async_wait(use_tuple));
    if (raced.index() == 0) co_return;
    log_warn("connections still closing at the end of the session", {{"count", links_.size()}});
    co_await links_.wait();  // every one: a link never outlives its session
}

}  // namespace tunnel
