#pragma once
// A scripted WebSocket for in-process session tests: the test plays the runner by pushing
// messages for the session to read, and sees every frame the session wrote and how many bytes
// each write carried. Writes can be held (a runner that stops reading), and a read can be made to
// throw.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "protocol/frame.hpp"
#include "transport/wake_signal.hpp"
#include "transport/ws_connection.hpp"

namespace tunnel::test {

using bytes = std::vector<std::uint8_t>;

class fake_connection final : public transport::ws_connection {
public:
    explicit fake_connection(boost::asio::any_io_executor ex);

    // ---- the test's side ----
    void push(bytes message);
    void push_throw();  // the next read throws std::runtime_error
    void hold_writes(bool hold);
    std::vector<bytes> const& written() const { return written_; }
    std::vector<std::size_t> const& write_sizes() const { return write_sizes_; }  // bytes per write
    std::size_t unread() const { return incoming_.size(); }
    std::size_t reads() const { return reads_; }
    bool aborted() const { return *aborted_; }
    // Outlives the connection (the session destroys it when it ends).
    std::shared_ptr<bool const> aborted_flag() const { return aborted_; }

    // ---- ws_connection ----
    boost::asio::awaitable<boost::system::error_code> read(boost::beast::flat_buffer& buffer,
                                                           bool& is_binary) override;
    boost::asio::awaitable<boost::system::error_code> read_message(protocol::frame_bytes& message,
                                                                   bool& is_binary) override;
    boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer message,
                                                            transport::ws_message kind) override;
    boost::asio::awaitable<boost::system::error_code> write_frames(
        std::span<boost::asio::mutable_buffer const> frames) override;
    boost::asio::awaitable<boost::system::error_code> close(std::uint16_t code) override;
    void abort() override;
    void ping() override { ++pings_sent; }
    std::uint64_t frames_received() const override { return frames_received_; }
    std::uint16_t peer_close_code() const override { return 0; }
    boost::asio::any_io_executor get_executor() override { return ex_; }

private:
    struct item {
        bytes message;
        bool throws = false;
    };
    boost::asio::any_io_executor ex_;
    std::deque<item> incoming_;
    std::vector<bytes> written_;
    std::vector<std::size_t> write_sizes_;
    transport::wake_signal readable_;
    transport::wake_signal writable_;
    bool hold_ = false;
    std::shared_ptr<bool> aborted_ = std::make_shared<bool>(false);
    std::size_t reads_ = 0;
    std::uint64_t frames_received_ = 0;

public:
    std::size_t pings_sent = 0;
};

bytes frame(protocol::msg_type type, std::uint32_t id, std::uint16_t port = 0,
            protocol::proto p = protocol::proto::tcp, std::size_t payload = 0);
protocol::header header_of(bytes const& frame);

}  // namespace tunnel::test
