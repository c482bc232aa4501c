#pragma once
// The stream under a client's WebSocket, shared by two writers: Beast, which writes its control
// frames (pong, ping, close) and the upgrade request, and our frame writer, which writes DATA
// frames itself (masked in place, several per system call). Bytes of two frames must never
// interleave, so each write has the stream to itself: Beast's async_write_some writes all it is
// given once the write in progress is over; ours takes the lock, writes and gives it back. Beast
// answers pings from inside its read, so this is the only place both can be put in order.
// Single-executor, like Beast. Heavy: include only from .cpp files.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace tunnel::transport {

// The write rule is broken (two writes at once would interleave their frames' bytes on the wire):
// said on stderr, then the process ends, in every build, rather than send a corrupt stream.
[[noreturn]] inline void broken_write_rule(char const* what) {
    std::fprintf(stderr, "tunnel-client: fatal: WebSocket write rule broken: %s\n", what);
    std::abort();
}

template <class NextLayer>
class write_lock_stream {
public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class... Args>
    explicit write_lock_stream(Args&&... args)
        : next_(std::forward<Args>(args)...), state_(std::make_shared<shared_state>(next_.get_executor())) {}

    next_layer_type& next_layer() { return next_; }
    next_layer_type const& next_layer() const { return next_; }
    executor_type get_executor() { return next_.get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(MutableBuffers const& buffers, Token&& token) {
        return next_.async_read_some(buffers, std::forward<Token>(token));
    }

    // Beast's writes: all of buffers, once no other write is in progress (a write_some that
    // writes everything is a valid one). They are small (control frames, the upgrade request,
    // Beast's own buffer) and are copied, so that one write, not one per Beast operation and
    // buffer type, is compiled for them; the handler is type-erased for the same reason.
    template <class ConstBuffers, class Token>
    auto async_write_some(ConstBuffers const& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, ConstBuffers const& b) {
                auto& s = *state_;
                s.beast_bytes.resize(boost::asio::buffer_size(b));
                boost::asio::buffer_copy(boost::asio::buffer(s.beast_bytes), b);
                if (s.beast_handler) broken_write_rule("Beast started a write while its last one was in flight");
                s.beast_handler.emplace(std::move(handler));
                if (!s.locked) start_beast_write();
            },
            token, buffers);
    }

    // Our writes: lock() waits for the stream, the caller writes with write_locked(), unlock()
    // lets the next writer in. The caller checks the WebSocket is still open once it holds the
    // lock (a close frame Beast wrote meanwhile ends what may follow it). unlock() hands the
    // stream to a waiting Beast write first, or a pong would wait for a whole upload to end.
    boost::asio::awaitable<void> lock() {
        auto const state = state_;
        while (state->locked)
            co_await state->released.async_wait(boost::asio::as_tuple(boost::asio::deferred));
        state->locked = true;
    }
    void unlock() {
        state_->locked = false;
        if (state_->beast_handler) start_beast_write();
    }

    // An operation to co_await, giving (error_code, bytes written).
    template <class ConstBuffers>
    auto write_locked(ConstBuffers const& buffers) {
        return boost::asio::async_write(lowest_writer(), buffers, write_everything{},
                                        boost::asio::as_tuple(boost::asio::deferred));
    }

private:
    // Asio's async_write hands the socket at most 64 KiB per call by default (a 256 KiB frame
    // left in five sendmsg calls, with a trip through the scheduler between them): ask for all.
    struct write_everything {
        std::size_t operator()(boost::system::error_code const& ec, std::size_t) const {
            return ec ? 0 : std::numeric_limits<std::size_t>::max();
        }
    };

    // What an operation still running may touch after the stream is gone (an aborted ping's
    // write completes after the connection that sent it).
    struct shared_state {
        explicit shared_state(executor_type ex)
            : released(ex, boost::asio::steady_timer::time_point::max()) {}
        boost::asio::steady_timer released;  // cancelled to wake our writer; never expires by itself
        bool locked = false;
        std::vector<std::uint8_t> beast_bytes;
        std::optional<boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>>
            beast_handler;
    };

    void start_beast_write() {
        state_->locked = true;
        boost::asio::async_write(lowest_writer(), boost::asio::buffer(state_->beast_bytes),
                                 write_everything{},
                                 [state = state_](boost::system::error_code ec, std::size_t n) {
                                     auto handler = std::move(*state->beast_handler);
                                     state->beast_handler.reset();
                                     state->locked = false;
                                     state->released.cancel();
                                     std::move(handler)(ec, n);
                                 });
    }

    // A plain TCP stream is written through its socket: Beast's tcp_stream adds timeout
    // bookkeeping per call that this stream does not use (its expiry is never).
    auto& lowest_writer() {
        if constexpr (requires { next_.socket(); })
            return next_.socket();
        else
            return next_;
    }

    NextLayer next_;
    std::shared_ptr<shared_state> state_;
};

// Beast's close handshake tears down what is under this stream.
template <class NextLayer, class Handler>
void async_teardown(boost::beast::role_type role, write_lock_stream<NextLayer>& stream, Handler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
}

template <class NextLayer>
void teardown(boost::beast::role_type role, write_lock_stream<NextLayer>& stream,
              boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.next_layer(), ec);
}

}  // namespace tunnel::transport
