#include "tunnel/session.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <vector>

#include "app/logging.hpp"
#include "tunnel/tcp_link.hpp"
#include "tunnel/udp_link.hpp"
#include "tunnel/ws_connection.hpp"

namespace tunnel {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using protocol::msg_type;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How long a polite close may wait for the runner's answer before the socket is reset.
constexpr std::chrono::milliseconds close_grace{1000};

std::string describe_read_end(error_code ec, ws_connection const& ws) {
    if (ec == beast::websocket::error::closed)
        return "runner closed the tunnel (close code " + std::to_string(ws.peer_close_code()) + ")";
    if (ec == beast::error::timeout) return "runner did not answer keepalive pings (dead peer)";
    if (ec == beast::websocket::error::message_too_big) return "runner sent a message over the size limit";
    return "connection lost: " + ec.message();
}

}  // namespace

session::session(asio::any_io_executor strand, client_config const& config)
    : state_(std::make_shared<session_state>(strand, config)),
      stop_signal_(strand),
      stall_credit_(config.stall_timeout),
      last_pause_end_(std::chrono::steady_clock::now()) {}

session::~session() { end_links(); }

asio::awaitable<session_outcome> session::run() {
    auto const& cfg = state_->config;
    log_info("connecting to runner", {{"url", cfg.endpoint.url()}});

    // The dial races the stop signal so that SIGTERM during a slow connect is prompt.
    stop_signal_.expires_at(asio::steady_timer::time_point::max());
    auto raced = co_await (dial_runner(state_->executor, cfg) || stop_signal_.async_wait(use_tuple));
    if (stop_requested_ || raced.index() == 1) co_return session_outcome{false, {}, "stopped"};
    auto dialed = std::move(std::get<0>(raced));
    if (dialed.error) {
        auto reason = dialed.stage + ": " + dialed.error.message();
        log_warn("cannot reach runner", {{"url", cfg.endpoint.url()}, {"reason", reason}});
        co_return session_outcome{false, {}, reason};
    }
    ws_connection& ws = *dialed.connection;
    log_info("tunnel up", {{"url", cfg.endpoint.url()}, {"container_id", cfg.container_id}});
    auto const up_at = std::chrono::steady_clock::now();

    co_await (read_loop(ws) && write_loop(ws) && closer(ws));
    end_links();
    log_info("tunnel down", {{"reason", end_reason_}});
    co_return session_outcome{true, std::chrono::steady_clock::now() - up_at, end_reason_};
}

void session::stop() {
    if (stop_requested_) return;
    stop_requested_ = true;
    end_links();  // local sockets close now; the runner learns from the close frame
    stop_signal_.cancel();
}

asio::awaitable<std::string> session::read_loop(ws_connection& ws) {
    beast::flat_buffer buffer;
    for (;;) {
        bool binary = true;
        auto const ec = co_await ws.read(buffer, binary);
        if (ec) {
            end_reason_ = stop_requested_ ? "stopped" : describe_read_end(ec, ws);
            break;
        }
        auto const* data = static_cast<std::uint8_t const*>(buffer.data().data());
        std::span<std::uint8_t const> const bytes(data, buffer.size());
        if (!binary) {
            log_warn("ignored text message from runner", {{"bytes", bytes.size()}});
        } else if (auto message = protocol::parse(bytes)) {
            co_await dispatch(*message);
        } else {
            log_warn("ignored message shorter than a header", {{"bytes", bytes.size()}});
        }
        buffer.consume(buffer.size());
    }
    read_ended_ = true;
    state_->writer.stop();
    end_links();
    // Unless a polite close is under way, drop the connection at once so the runner learns now.
    if (!stop_requested_) ws.abort();
    stop_signal_.cancel();
    co_return end_reason_;
}

asio::awaitable<void> session::write_loop(ws_connection& ws) {
    auto const ec = co_await state_->writer.run(ws);
    if (ec && !read_ended_ && !stop_requested_) {
        log_debug("websocket write failed", {{"reason", ec.message()}});
        end_links();
        ws.abort();  // the read loop then ends too
    }
}

asio::awaitable<void> session::closer(ws_connection& ws) {
    if (!stop_requested_ && !read_ended_) {
        stop_signal_.expires_at(asio::steady_timer::time_point::max());
        co_await stop_signal_.async_wait(use_tuple);
    }
    if (!stop_requested_ || read_ended_) co_return;
    state_->writer.stop();
    asio::steady_timer grace(state_->executor, close_grace);
    auto raced = co_await (ws.close(beast::websocket::close_code::going_away) || grace.async_wait(use_tuple));
    if (raced.index() == 1 || std::get<0>(raced)) ws.abort();
}

asio::awaitable<void> session::dispatch(protocol::message const& message) {
    auto const& h = message.header;
    if (stop_requested_) co_return;  // shutting down: open nothing new
    switch (h.kind()) {
        case msg_type::connect:
            on_connect(h);
            co_return;
        case msg_type::data: {
            auto it = state_->links.find(h.client_id);
            if (it == state_->links.end()) co_return;  // late DATA for a closed id: ignored
            it->second->deliver(message.payload);
            // Only a full buffer costs more than this check (the common case allocates nothing).
            if (downstream_full(*it->second)) co_await wait_for_downstream_room(it->second);
            co_return;
        }
        case msg_type::close: {
            auto it = state_->links.find(h.client_id);
            if (it == state_->links.end()) co_return;  // repeated CLOSE: ignored
            log_debug("close from runner", {{"client_id", h.client_id}});
            it->second->close_by_runner();  // releases the id from the table itself
            co_return;
        }
        case msg_type::ping:
            state_->writer.send(
                protocol::encode(protocol::make_header(msg_type::pong, h.transport(), h.client_id, h.port)));
            co_return;
        case msg_type::connected:
        case msg_type::error:
        case msg_type::pong:
            log_debug("ignored client-side message from runner",
                      {{"type", protocol::type_name(h.type)}, {"client_id", h.client_id}});
            co_return;
    }
    log_warn("ignored unknown message type",
             {{"type", static_cast<unsigned>(h.type)}, {"client_id", h.client_id}});
}

bool session::downstream_full(link const& target) const {
    auto const& cfg = state_->config;
    return target.pending_bytes() > cfg.conn_buffer || state_->downstream_bytes > cfg.session_buffer;
}

asio::awaitable<void> session::wait_for_downstream_room(std::shared_ptr<link> target) {
    auto const& cfg = state_->config;
    auto over = [&] { return downstream_full(*target); };
    // A connection (or all of them together) is full: stop reading the tunnel until it drains, so
    // memory stays bounded and nothing is dropped; but only for as long as the stall credit lasts.
    auto const start = std::chrono::steady_clock::now();
    stall_credit_ = std::min<std::chrono::steady_clock::duration>(cfg.stall_timeout,
                                                                  stall_credit_ + (start - last_pause_end_));
    log_debug("local buffers full, tunnel paused",
              {{"client_id", target->client_id()}, {"bytes", target->pending_bytes()}});
    auto& drained = state_->downstream_drained;  // only this loop waits on it
    while (over() && !stop_requested_) {
        drained.expires_at(start + stall_credit_);
        auto [ec] = co_await drained.async_wait(use_tuple);
        if (!ec) break;  // the credit is spent
    }
    auto const end = std::chrono::steady_clock::now();
    stall_credit_ -= std::min<std::chrono::steady_clock::duration>(stall_credit_, end - start);
    last_pause_end_ = end;
    // Still full: close the connections holding the most bytes, never the whole tunnel.
    while (over()) {
        auto victim = std::max_element(state_->live.begin(), state_->live.end(), [](link* a, link* b) {
            return a->pending_bytes() < b->pending_bytes();
        });
        if (victim == state_->live.end() || (*victim)->pending_bytes() == 0) break;
        (*victim)->fail("local service stopped reading (stall timeout)");
    }
}

void session::on_connect(protocol::header const& h) {
    if (!protocol::is_known_proto(h.proto)) {
        log_warn("connect with unknown protocol",
                 {{"client_id", h.client_id}, {"proto", static_cast<unsigned>(h.proto)}});
        state_->writer.send(
            protocol::encode(protocol::make_header(msg_type::error, h.transport(), h.client_id, h.port),
                             "unsupported protocol " + std::to_string(h.proto)));
        return;
    }
    if (auto it = state_->links.find(h.client_id); it != state_->links.end()) {
        // Another user reused this id: the runner now routes it to them, so the newest CONNECT wins
        // and the old stream is closed without a word (a CLOSE would tear the new one down).
        auto old = it->second;
        state_->links.erase(it);
        log_info("connection replaced by a newer CONNECT",
                 {{"client_id", h.client_id}, {"port", old->port()}});
        old->abort();
    }
    std::shared_ptr<link> created;
    if (h.transport() == protocol::proto::tcp)
        created = std::make_shared<tcp_link>(state_, h.client_id, h.port);
    else
        created = std::make_shared<udp_link>(state_, h.client_id, h.port);
    state_->links.emplace(h.client_id, created);
    created->start();
}

void session::end_links() {
    std::vector<std::shared_ptr<link>> owned;
    for (auto& [id, l] : state_->links) owned.push_back(l);
    state_->links.clear();
    for (auto& l : owned) l->abort();
    // Links already released from the table (flushing after CLOSE) are closed too.
    std::vector<link*> rest(state_->live.begin(), state_->live.end());
    for (auto* l : rest) l->abort();
}

}  // namespace tunnel
