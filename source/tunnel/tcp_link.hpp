#pragma once
// One TCP client_id: a local connection to 127.0.0.1:port (or [::1]:port) and the coroutine pair
// that pumps it for its whole life: pump_up (opens the connection, then local -> DATA frames for
// the WebSocket writer) and pump_down (the runner's bytes -> local, once it is open).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "tunnel/link.hpp"

namespace tunnel {

class tcp_link final : public link {
public:
    tcp_link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port);

private:
    boost::asio::awaitable<void> pump_up() override;
    boost::asio::awaitable<void> pump_down() override;
    void begin_flush() override { downstream_wake_.notify(); }
    void close_socket() override;

    // Connects and answers the runner (CONNECTED or ERROR); true when the connection is open.
    boost::asio::awaitable<bool> open_and_answer();
    boost::asio::awaitable<std::string> open_local();  // empty on success, else the reason
    boost::asio::awaitable<boost::system::error_code> connect_within(boost::asio::ip::tcp::endpoint const& endpoint,
                                                                     boost::asio::steady_timer& deadline);
    enum class read_result { drained, full, over };  // full: more may wait; over: the link is done
    read_result read_local();                         // one read into one DATA frame
    boost::system::error_code write_local();          // one gathered write of the queue
    // Waits until the socket takes more; bounded by the stall timeout once nobody waits for the
    // stream (flushing).
    boost::asio::awaitable<boost::system::error_code> wait_writable();
    // Everything is written after CLOSE (or the service's EOF): FIN, a moment for the service to
    // finish its side, then closed.
    boost::asio::awaitable<void> finish_flush();
    void on_local_error(boost::system::error_code ec);

    boost::asio::ip::tcp::socket socket_;
    bool opened_ = false;
    bool local_eof_ = false;
    // After the final FIN: the wait for the service's EOF. Made then (an idle link costs less).
    std::unique_ptr<boost::asio::steady_timer> linger_;
};

}  // namespace tunnel
