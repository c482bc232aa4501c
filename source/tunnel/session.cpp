#include "tunnel/session.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
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
// How long the end of a session waits for its links to finish closing.
constexpr std::chrono::milliseconds links_grace{2000};

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

// Waits for a notification of `signal` or the deadline; true when notified.
asio::awaitable<bool> wait_until(transport::wake_signal& signal, clock::time_point deadline) {
    asio::steady_timer timer(signal.get_executor(), deadline);
    auto raced = co_await (signal.wait() || timer.async_wait(use_tuple));
    co_return raced.index() == 0;
}

}  // namespace

session::session(asio::any_io_executor io, asio::any_io_executor strand, client_config const& config, dialer dial,
                 link_factory make_link, std::shared_ptr<status_board> board)
    : ctx_(std::make_shared<session_context>(std::move(io), strand, config,
                                             board ? std::move(board) : std::make_shared<status_board>())),
      dial_(std::move(dial)),
      make_link_(make_link ? std::move(make_link) : link_factory(make_default_link)),
      limits_{config.conn_buffer, config.session_buffer},
      credit_(config.stall_timeout, clock::now()),
      stop_signal_(strand) {}

session::~session() {
    // Normally the links are gone by now; after an exception they are told here, and finish on
    // their own (each holds the context it needs).
    ctx_->writer.stop();
    end_links();
}

bool session::ending() const { return stop_requested_ || read_ended_ || ctx_->writer.stopped(); }

asio::awaitable<session_outcome> session::run() {
    auto const& cfg = ctx_->config;
    if (cfg.reach.proxy)
        log_info("connecting to runner", {{"url", cfg.endpoint.url()}, {"proxy", cfg.reach.proxy->display()}});
    else
        log_info("connecting to runner", {{"url", cfg.endpoint.url()}});

    auto& board = *ctx_->board;
    board.dialing();
    board.set_state(tunnel_state::connecting);
    // The dial races the stop signal so that SIGTERM during a slow connect is prompt.
    auto raced = co_await (dial_() || stop_signal_.wait());
    if (stop_requested_ || raced.index() == 1) co_return session_outcome{false, {}, "stopped"};
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

    co_await (read_loop(ws) && write_loop(ws) && closer(ws) && keepalive(ws));
    end_links();
    co_await wait_for_links();
    log_info("tunnel down", {{"reason", end_reason_}});
    if (!stop_requested_) {
        board.record_error(end_reason_);
        board.set_state(tunnel_state::connecting);
    }
    co_return session_outcome{true, clock::now() - up_at, end_reason_};
}

void session::stop() {
    if (stop_requested_) return;
    stop_requested_ = true;
    end_links();  // local sockets close now; the runner learns from the close frame
    stop_signal_.notify();
    ctx_->read_gate.notify();
}

asio::awaitable<void> session::read_loop(ws_connection& ws) {
    beast::flat_buffer buffer;
    for (;;) {
        bool binary = true;
        auto const ec = co_await ws.read(buffer, binary);
        if (ec) {
            end_reason_ = stop_requested_                ? std::string("stopped")
                          : !keepalive_verdict_.empty() ? keepalive_verdict_
                                                        : describe_read_end(ec, ws);
            break;
        }
        auto const* data = static_cast<std::uint8_t const*>(buffer.data().data());
        std::span<std::uint8_t const> const bytes(data, buffer.size());
        std::shared_ptr<link> target;
        if (!binary) {
            log_warn("ignored text message from runner", {{"bytes", bytes.size()}});
        } else if (auto message = protocol::parse(bytes)) {
            ctx_->board->frame_in();
            target = dispatch(*message);
        } else {
            log_warn("ignored message shorter than a header", {{"bytes", bytes.size()}});
        }
        buffer.consume(buffer.size());
        // The frame in hand is done. Read the next one only while both budgets have room, so that
        // no sequence of runner frames can grow memory (replies count against the upstream one).
        if (ctx_->upstream.full()) {
            bool const alive = co_await wait_for_upstream_room();  // (GCC 12: not inside a condition)
            if (!alive) {
                end_reason_ = "runner stopped reading (no room in the write queue for the keepalive timeout)";
                break;
            }
        }
        if (target && limits_.full(target->pending_bytes(), ctx_->downstream.used()))
            co_await wait_for_downstream_room(std::move(target));
        if (stop_requested_) {
            end_reason_ = "stopped";
            co_return;  // the closer sends the close frame; its answer ends nothing we wait for
        }
    }
    read_ended_ = true;
    ctx_->writer.stop();
    end_links();
    // Unless a polite close is under way, drop the connection at once so the runner learns now.
    if (!stop_requested_) ws.abort();
    stop_signal_.notify();
}

asio::awaitable<void> session::write_loop(ws_connection& ws) {
    auto const ec = co_await ctx_->writer.run(ws);
    if (ec && !read_ended_ && !stop_requested_) {
        log_debug("websocket write failed", {{"reason", ec.message()}});
        end_links();
        ws.abort();                  // the read loop then ends too
        ctx_->read_gate.notify();  // or, if it is paused, looks again
    }
}

asio::awaitable<void> session::closer(ws_connection& ws) {
    while (!stop_requested_ && !read_ended_) co_await stop_signal_.wait();
    if (read_ended_) co_return;
    ctx_->writer.stop();
    asio::steady_timer grace(ctx_->strand, close_grace);
    auto raced = co_await (ws.close(beast::websocket::close_code::going_away) || grace.async_wait(use_tuple));
    if (raced.index() == 1 || std::get<0>(raced)) ws.abort();
}

asio::awaitable<void> session::keepalive(ws_connection& ws) {
    // A tick every half timeout looks for any frame from the runner since the last one (pongs
    // and pings count): none for half the timeout gets a ping, none for all of it ends the
    // session. Nothing is done per frame read.
    auto const timeout = ctx_->config.keepalive_timeout;
    auto seen = ws.frames_received();
    auto heard_at = clock::now();
    while (!ending()) {
        co_await wait_until(stop_signal_, clock::now() + timeout / 2);  // woken early at the end
        if (ending()) co_return;
        auto const now = clock::now();
        if (ws.frames_received() != seen) {
            seen = ws.frames_received();
            heard_at = now;
            continue;
        }
        if (now - heard_at >= timeout) {  // (two ticks since the last sign of life)
            keepalive_verdict_ = "runner did not answer keepalive pings (dead peer)";
            ws.abort();  // the read loop ends and reports the verdict
            co_return;
        }
        ws.ping();
    }
}

std::shared_ptr<link> session::dispatch(protocol::message const& message) {
    auto const& h = message.header;
    auto const* owner = ctx_->ids.find(h.client_id);
    switch (decide(h, owner != nullptr, stop_requested_)) {
        case frame_action::open:
        case frame_action::replace: {
            bool const replacing = owner != nullptr;
            // The policy is checked before any socket is made; a link being replaced is on its
            // way out and does not count.
            std::size_t open = ctx_->running.size();
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
            target->post_data(message.payload);
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
    ctx_->running.emplace(created->serial(), created);
    created->start();
}

asio::awaitable<bool> session::wait_for_upstream_room() {
    // Progress (bytes leaving the queue) restarts the clock: a slow runner is fine, a stuck one
    // is dead after keepalive_timeout.
    auto& budget = ctx_->upstream;
    auto deadline = clock::now() + ctx_->config.keepalive_timeout;
    while (budget.full() && !ending()) {
        ctx_->wake_reader_on_release(budget);
        if (!budget.full()) break;
        auto const before = budget.used();
        bool const woken = co_await wait_until(ctx_->read_gate, deadline);
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
    while (over() && !ending()) {
        ctx_->wake_reader_on_release(ctx_->downstream);
        if (!over()) break;
        bool const woken = co_await wait_until(ctx_->read_gate, deadline);
        if (!woken) break;  // the credit is spent
    }
    credit_.end_pause(clock::now());
    if (over() && !ending()) cut_fullest_links(target);
}

void session::cut_fullest_links(std::shared_ptr<link> const& target) {
    // Still full: close the connections holding the most bytes, never the whole tunnel.
    std::vector<std::shared_ptr<link>> candidates;
    for (auto& [serial, weak] : ctx_->running)
        if (auto l = weak.lock(); l && l->pending_bytes() > 0) candidates.push_back(std::move(l));
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
    for (auto& [id, l] : ctx_->ids.take_all()) l->post_replaced();
    // Links already released from the table (flushing after CLOSE) are closed too.
    for (auto& [serial, weak] : ctx_->running)
        if (auto l = weak.lock()) l->post_replaced();
}

asio::awaitable<void> session::wait_for_links() {
    auto const deadline = clock::now() + links_grace;
    while (!ctx_->running.empty() && clock::now() < deadline) co_await wait_until(ctx_->links_changed, deadline);
    if (!ctx_->running.empty())
        log_warn("connections still closing at the end of the session", {{"count", ctx_->running.size()}});
}

}  // namespace tunnel
