#include "runner/tunnel_peer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "transport/ws_connection.hpp"
#include "transport/beast_ws_connection.hpp"

namespace tunnel::runner {

namespace asio = boost::asio;

namespace {
constexpr std::size_t writer_budget = 4 * 1024 * 1024;
}

tunnel_peer::tunnel_peer(std::unique_ptr<ws_connection> ws, std::string container_id, std::string target,
                         std::vector<std::pair<std::string, std::string>> request_headers)
    : ws_(std::move(ws)),
      container_id_(std::move(container_id)),
      target_(std::move(target)),
      request_headers_(std::move(request_headers)),
      writer_(ws_->get_executor(), writer_budget) {}

tunnel_peer::~tunnel_peer() = default;

void tunnel_peer::start() {
    asio::co_spawn(
        ws_->get_executor(),
        [self = shared_from_this()]() -> asio::awaitable<void> {
            auto ec = co_await self->writer_.run(*self->ws_);
            if (ec) self->abort();
        },
        asio::detached);
}

asio::awaitable<bool> tunnel_peer::send_data(frame_bytes frame) {
    bool const room = co_await writer_.wait_for_room();  // (GCC 12: no co_await inside a condition)
    if (!room) co_return false;
    writer_.send(std::move(frame));
    co_return true;
}

asio::awaitable<std::optional<incoming_message>> tunnel_peer::receive() {
    if (ended_) co_return std::nullopt;
    boost::beast::flat_buffer buffer;
    bool binary = true;
    auto ec = co_await ws_->read(buffer, binary);
    if (ec) {
        ended_ = true;
        end_error_ = ec;
        writer_.stop();
        co_return std::nullopt;
    }
    auto const* data = static_cast<std::uint8_t const*>(buffer.data().data());
    co_return incoming_message{binary, std::vector<std::uint8_t>(data, data + buffer.size())};
}

asio::awaitable<bool> tunnel_peer::receive_into(boost::beast::flat_buffer& buffer, bool& binary) {
    if (ended_) co_return false;
    buffer.consume(buffer.size());
    auto ec = co_await ws_->read(buffer, binary);
    if (ec) {
        ended_ = true;
        end_error_ = ec;
        writer_.stop();
        co_return false;
    }
    co_return true;
}

std::uint16_t tunnel_peer::peer_close_code() const { return ws_->peer_close_code(); }

void tunnel_peer::ping() {
    if (!ended_ && !closing_) ws_->ping();
}

std::uint64_t tunnel_peer::frames_received() const { return ws_->frames_received(); }

bool tunnel_peer::set_no_delay(bool on) {
    using plain = transport::beast_ws_connection<boost::beast::websocket::stream<boost::beast::tcp_stream>>;
    auto* ws = dynamic_cast<plain*>(ws_.get());
    if (!ws) return false;
    boost::system::error_code ec;
    boost::beast::get_lowest_layer(ws->stream()).socket().set_option(asio::ip::tcp::no_delay(on), ec);
    return !ec;
}

void tunnel_peer::close(std::uint16_t code) {
    if (closing_ || ended_) return;
    closing_ = true;
    writer_.stop();
    asio::co_spawn(
        ws_->get_executor(),
        [self = shared_from_this(), code]() -> asio::awaitable<void> { co_await self->ws_->close(code); },
        asio::detached);
}

void tunnel_peer::abort() {
    writer_.stop();
    ws_->abort();
}

}  // namespace tunnel::runner
