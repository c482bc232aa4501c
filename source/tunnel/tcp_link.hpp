#pragma once
// One TCP client_id: a local connection to 127.0.0.1:port (or [::1]:port) and a coroutine pair
// pumping it: run (opens, then local -> DATA frames for the whole life of the connection), and
// pump_down (queued DATA -> local) only while bytes wait: an idle connection holds no buffer and
// one coroutine.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "tunnel/chunk_queue.hpp"
#include "tunnel/link.hpp"

namespace tunnel {

class tcp_link final : public link {
public:
    tcp_link(std::shared_ptr<session_context> ctx, std::uint32_t client_id, std::uint16_t port);

private:
    boost::asio::awaitable<void> run() override;
    void on_data(std::span<std::uint8_t const> payload) override;
    void begin_flush() override { ensure_pump_down(); }
    void close_socket() override;

    // Connects and answers the runner (CONNECTED or ERROR); true when the connection is open.
    // Its own coroutine, so that an idle connection's run() frame holds none of this.
    boost::asio::awaitable<bool> open_and_answer();
    boost::asio::awaitable<std::string> open_local();  // empty on success, else the reason
    boost::asio::awaitable<boost::system::error_code> connect_within(boost::asio::ip::tcp::endpoint const& endpoint,
                                                                     boost::asio::steady_timer& deadline);
    boost::asio::awaitable<void> pump_down();
    void ensure_pump_down();
    void on_local_error(boost::system::error_code ec);

    boost::asio::ip::tcp::socket socket_;
    bool opened_ = false;
    bool local_eof_ = false;
    bool writing_ = false;       // pending_.front() is being written
    bool pumping_down_ = false;  // pump_down is running
    chunk_queue pending_;
    // After the final FIN: the wait for the service's EOF. Made then (an idle link costs less).
    std::unique_ptr<boost::asio::steady_timer> linger_;
};

}  // namespace tunnel
