#pragma once
// One TCP client_id: a local connection to 127.0.0.1:port (or [::1]:port) and a coroutine pair
// pumping it: pump_up (local -> DATA frames to the writer) for the whole life of the connection,
// and pump_down (queued DATA -> local) only while bytes wait: an idle connection holds no buffer
// and one coroutine.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "tunnel/chunk_queue.hpp"
#include "tunnel/link.hpp"
#include "tunnel/session_state.hpp"

namespace tunnel {

class tcp_link final : public link, public std::enable_shared_from_this<tcp_link> {
public:
    tcp_link(std::shared_ptr<session_state> state, std::uint32_t client_id, std::uint16_t port);
    ~tcp_link() override;

    void start() override;
    void deliver(std::span<std::uint8_t const> payload) override;
    void close_by_runner() override;
    void abort() override;
    void fail(std::string_view reason) override;
    std::size_t pending_bytes() const override { return pending_bytes_; }

private:
    // opening: connecting, DATA is queued. open: pumping. flushing: write what is queued, then
    // close (after runner CLOSE or local EOF). closed: socket closed, nothing more happens.
    enum class phase { opening, open, flushing, closed };

    boost::asio::awaitable<void> run(std::shared_ptr<tcp_link> self);
    boost::asio::awaitable<std::string> open_local();  // empty on success, else the reason
    boost::asio::awaitable<void> pump_up();
    boost::asio::awaitable<void> pump_down(std::shared_ptr<tcp_link> self);

    void ensure_pump_down();
    void begin_flush();
    void on_local_eof();
    void on_local_error(boost::system::error_code ec);
    void tell_runner_closed();
    void drop_pending();
    void close_now();

    std::shared_ptr<session_state> state_;
    boost::asio::ip::tcp::socket socket_;
    phase phase_ = phase::opening;
    bool silent_ = false;  // the runner no longer owns this stream: send it nothing more
    bool local_eof_ = false;
    bool writing_ = false;       // pending_.front() is being written
    bool pumping_down_ = false;  // pump_down is running
    chunk_queue pending_;
    std::size_t pending_bytes_ = 0;
    boost::asio::steady_timer timer_;  // after the final FIN: the wait for the service's EOF
    std::uint64_t bytes_up_ = 0;
    std::uint64_t bytes_down_ = 0;
};

}  // namespace tunnel
