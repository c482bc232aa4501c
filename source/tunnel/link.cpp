#include "tunnel/link.hpp"

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <vector>

#include "log/logging.hpp"

namespace tunnel {

namespace asio = boost::asio;
using protocol::msg_type;

link::link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port, protocol::proto p)
    : ctx_(std::move(ctx)),
      executor_(ctx_->make_link_executor()),
      downstream_wake_(executor_),
      downstream_(ctx_->downstream),
      reply_reserve_(ctx_->upstream),
      client_id_(client_id),
      port_(port),
      proto_(p),
      serial_(ctx_->next_serial()) {
    reply_reserve_.add(reply_reserve);
    ctx_->links.fetch_add(1, std::memory_order_relaxed);
    stats_.client_id = client_id;
    stats_.port = port;
    stats_.udp = p == protocol::proto::udp;
    stats_.since = std::chrono::steady_clock::now();
    stats_.queued = &downstream_;
    ctx_->board->join(stats_);
}

link::~link() {
    ctx_->board->leave(stats_);
    ctx_->links.fetch_sub(1, std::memory_order_relaxed);
}

void link::start(transport::task_group<std::shared_ptr<link>>& group) {
    auto const on_done = [](std::shared_ptr<link>& l, std::exception_ptr error) {
        if (error) l->failed_with(error);
    };
    group.spawn(executor_, shared_from_this(), pump_up(), on_done);
    group.spawn(executor_, shared_from_this(), pump_down(), on_done);
}

void link::pump_ended(asio::cancellation_state const& state) {
    // Ended by the session: the runner has forgotten this id, so nothing more is said.
    if (cancelled(state)) apply(state_.replaced());
}

void link::failed_with(std::exception_ptr error) {
    // One broken connection fails alone: CLOSE to the runner, its bytes released.
    std::string reason = "internal error";
    try {
        std::rethrow_exception(error);
    } catch (std::exception const& x) {
        reason += std::string(": ") + x.what();
    } catch (...) {
    }
    log_error("connection task failed", {{"client_id", client_id_}, {"reason", reason}});
    fail(reason);
}

void link::post_data(protocol::frame_bytes& message) {
    // A large payload keeps the buffer the read loop read it into (a copy of 64 KiB costs more
    // than the allocation of the read loop's next buffer); a small one is copied out, so that the
    // read loop keeps its buffer and the queue holds little more than it carries.
    constexpr std::size_t take_whole = 16 * 1024;
    chunk_queue::chunk data;
    if (message.size() - protocol::header_size >= take_whole) {
        data.bytes = std::move(message);
        data.begin = protocol::header_size;
        message = {};
    } else {
        data.bytes.assign(message.begin() + protocol::header_size, message.end());
    }
    downstream_.add(data.size());  // counted from the hand-off, so the session's bounds see it now
    if (ctx_->single_thread) {
        deliver(std::move(data));
        return;
    }
    asio::post(executor_, [self = shared_from_this(), data = std::move(data)]() mutable { self->deliver(std::move(data)); });
}

void link::deliver(chunk_queue::chunk data) {
    // Late DATA after a CLOSE (either side's) is ignored: this stream is over. (An empty DATA is
    // nothing to TCP, and an empty datagram to UDP.)
    if (!state_.accepts_data() || (data.size() == 0 && proto_ == protocol::proto::tcp)) {
        downstream_.release(data.size());
        return;
    }
    bool const was_empty = pending_.empty();
    pending_.push_back(std::move(data));
    if (was_empty) downstream_wake_.notify();  // (a pump with bytes in hand is not waiting)
}

void link::post_runner_close() {
    asio::post(executor_, [self = shared_from_this()] { self->apply(self->state_.runner_closed()); });
}

void link::post_replaced() {
    asio::post(executor_, [self = shared_from_this()] { self->apply(self->state_.replaced()); });
}

void link::post_fail(std::string reason) {
    asio::post(executor_, [self = shared_from_this(), reason = std::move(reason)] { self->fail(reason); });
}

void link::fail(std::string_view reason) {
    if (state_.closed()) return;
    log_warn("connection closed", {{"client_id", client_id_}, {"port", port_}, {"reason", reason}});
    apply(state_.failed(), reason);
}

void link::apply(link_effects e, std::string_view reason) {
    if (e.send_connected) send_control(msg_type::connected, {}, false);
    if (e.send_error) send_control(msg_type::error, reason, true);
    if (e.send_close) send_control(msg_type::close, {}, true);
    if (e.release_id) ctx_->release(shared_from_this());
    if (!state_.reply_owed()) reply_reserve_.release_all();
    if (e.start_flushing) begin_flush();
    if (e.close_socket) {
        close_socket();
        drop_pending();
        downstream_wake_.notify();   // the downstream pump sees the end
        if (room_) room_->notify();  // and an upstream pump waiting for room
    }
}

void link::drop_pending() {
    pending_.clear();
    downstream_.release_all();
}

void link::send_control(msg_type type, std::string_view payload, bool last) {
    ctx_->send_from(shared_from_this(),
                    protocol::encode(protocol::make_header(type, proto_, client_id_, port_), payload), last);
}

void link::send_data(transport::frame_bytes frame) { ctx_->send_from(shared_from_this(), std::move(frame), false); }

asio::awaitable<bool> link::wait_for_upstream_room() {
    auto& budget = ctx_->upstream;
    if (!room_) room_ = std::make_unique<transport::wake_signal>(executor_);
    while (!state_.closed() && budget.full()) {
        budget.notify_on_release([weak = weak_from_this(), ex = executor_] {
            asio::post(ex, [weak] {
                if (auto self = weak.lock()) self->room_->notify();
            });
        });
        if (!budget.full()) break;  // released before the wake was registered
        co_await room_->wait();
        auto const cs = co_await asio::this_coro::cancellation_state;  // (bound first: GCC 12)
        if (cancelled(cs)) co_return false;
    }
    co_return !state_.closed();
}

void link::log_opened() const {
    log_info("connection opened", {{"client_id", client_id_},
                                   {"port", port_},
                                   {"proto", protocol::proto_name(static_cast<std::uint8_t>(proto_))}});
}

}  // namespace tunnel
