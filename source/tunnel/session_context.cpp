#include "tunnel/session_context.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "tunnel/link.hpp"

namespace tunnel {

namespace asio = boost::asio;

namespace {
// Up to two full DATA frames per write. With eight busy uploads, one frame per sendmsg cost 4-15%
// more CPU per GiB; four held the readers back (a write gives its room back only once all of it
// is written) and moved 16% less.
constexpr std::size_t upstream_batch = 2 * (protocol::header_size + protocol::max_data_payload);
}  // namespace

session_context::session_context(asio::any_io_executor io, asio::any_io_executor strand_, client_config const& cfg,
                                 std::shared_ptr<status_board> board_)
    : config(cfg),
      single_thread(cfg.threads <= 1),
      strand(std::move(strand_)),
      board(std::move(board_)),
      downstream(cfg.session_buffer),
      upstream(cfg.write_queue),
      writer(
          strand, cfg.write_queue, [this](std::size_t cost) { upstream.remove(cost); }, upstream_batch),
      read_gate(strand),
      io_(std::move(io)) {}

void session_context::queue(transport::frame_bytes frame, std::uint64_t owner) {
    board->frame_out();
    upstream.add(writer.send(std::move(frame), owner));
}

asio::any_io_executor session_context::make_link_executor() {
    // One thread needs no strand: its handlers never run concurrently, and a strand would cost a
    // lock and a queue hop per handler.
    if (single_thread) return strand;
    return asio::make_strand(io_);
}

void session_context::send_from(std::shared_ptr<link> const& from, transport::frame_bytes frame, bool last) {
    auto deliver = [ctx = shared_from_this(), from, frame = std::move(frame), last]() mutable {
        auto const id = from->client_id();
        if (ctx->ids.owns(id, from)) ctx->queue(std::move(frame), from->serial());
        if (last) ctx->ids.release(id, from);
    };
    if (single_thread)
        deliver();
    else
        asio::post(strand, std::move(deliver));
}

void session_context::release(std::shared_ptr<link> const& from) {
    auto run = [ctx = shared_from_this(), from] { ctx->ids.release(from->client_id(), from); };
    if (single_thread)
        run();
    else
        asio::post(strand, std::move(run));
}

void session_context::wake_reader_on_release(byte_account& account) {
    account.notify_on_release([weak = weak_from_this()] {
        auto ctx = weak.lock();
        if (!ctx) return;
        auto const ex = ctx->strand;
        asio::post(ex, [ctx = std::move(ctx)] { ctx->read_gate.notify(); });
    });
}

std::uint64_t session_context::next_serial() {
    static std::atomic<std::uint64_t> last{0};
    return ++last;
}

}  // namespace tunnel
