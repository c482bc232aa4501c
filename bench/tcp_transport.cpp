// Direct and relay transports: loopback TCP/UDP sockets; the harness is the user application.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <vector>

#include "transport.hpp"

namespace bench {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

class tcp_connection final : public connection {
public:
    explicit tcp_connection(std::shared_ptr<tcp::socket> socket) : socket_(std::move(socket)) {}
    ~tcp_connection() override { close(); }

    asio::awaitable<bool> wait_open() override { co_return socket_->is_open(); }

    asio::awaitable<bool> write(std::span<std::uint8_t const> bytes) override {
        auto [ec, n] =
            co_await asio::async_write(*socket_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
        co_return !ec;
    }

    asio::awaitable<bool> read_exact(std::span<std::uint8_t> out) override {
        auto [ec, n] = co_await asio::async_read(*socket_, asio::buffer(out.data(), out.size()), use_tuple);
        co_return !ec;
    }

    asio::awaitable<std::optional<std::size_t>> read_to_end() override {
        std::vector<std::uint8_t> buffer(64 * 1024);
        std::size_t total = 0;
        for (;;) {
            auto [ec, n] = co_await socket_->async_read_some(asio::buffer(buffer), use_tuple);
            total += n;
            if (ec == asio::error::eof) co_return total;
            if (ec) co_return std::nullopt;
        }
    }

    void close() override {
        boost::system::error_code ignored;
        socket_->close(ignored);
    }

private:
    std::shared_ptr<tcp::socket> socket_;
};

// The receive loop owns a share of this state, so the flow may go before the loop ends.
struct udp_state {
    explicit udp_state(asio::any_io_executor ex) : socket(ex), wake(ex) {}
    udp::socket socket;
    asio::steady_timer wake;
    std::size_t received = 0;
};

class udp_flow final : public datagram_flow {
public:
    explicit udp_flow(std::shared_ptr<udp_state> state) : state_(std::move(state)) {
        asio::co_spawn(state_->socket.get_executor(), receive_loop(state_), asio::detached);
    }
    ~udp_flow() override { close(); }

    asio::awaitable<bool> send(std::span<std::uint8_t const> datagram) override {
        auto [ec, n] =
            co_await state_->socket.async_send(asio::buffer(datagram.data(), datagram.size()), use_tuple);
        // ECONNREFUSED from an earlier ICMP error is not the end of a UDP flow.
        co_return !ec || ec == asio::error::connection_refused;
    }

    std::size_t received() const override { return state_->received; }

    asio::awaitable<void> wait_receive(clock_type::time_point deadline) override {
        state_->wake.expires_at(deadline);
        co_await state_->wake.async_wait(use_tuple);
    }

    void close() override {
        boost::system::error_code ignored;
        state_->socket.close(ignored);
        state_->wake.cancel();
    }

private:
    static asio::awaitable<void> receive_loop(std::shared_ptr<udp_state> state) {
        std::vector<std::uint8_t> buffer(65536);
        while (state->socket.is_open()) {
            auto [ec, n] = co_await state->socket.async_receive(asio::buffer(buffer), use_tuple);
            if (ec == asio::error::operation_aborted || !state->socket.is_open()) co_return;
            if (ec) continue;  // ICMP port unreachable and the like
            ++state->received;
            state->wake.cancel();
        }
    }

    std::shared_ptr<udp_state> state_;
};

class tcp_transport final : public transport {
public:
    tcp_transport(asio::any_io_executor ex, std::function<std::uint16_t(service)> port_of)
        : executor_(ex), port_of_(std::move(port_of)) {}

    asio::awaitable<std::unique_ptr<connection>> connect(service s) override {
        if (aborted_) throw std::runtime_error("transport aborted");
        auto socket = std::make_shared<tcp::socket>(executor_);
        tcp::endpoint const endpoint(asio::ip::address_v4::loopback(), port_of_(s));
        track(socket);  // before connecting: a connect stuck in SYN retries must be abortable too
        auto [ec] = co_await socket->async_connect(endpoint, use_tuple);
        if (ec)
            throw std::runtime_error("connect to " + std::string(service_name(s)) + " at port " +
                                     std::to_string(endpoint.port()) + ": " + ec.message());
        if (aborted_) throw std::runtime_error("transport aborted");
        boost::system::error_code ignored;
        socket->set_option(tcp::no_delay(true), ignored);
        co_return std::make_unique<tcp_connection>(std::move(socket));
    }

    asio::awaitable<std::unique_ptr<datagram_flow>> open_udp() override {
        auto state = std::make_shared<udp_state>(executor_);
        udp::endpoint const endpoint(asio::ip::address_v4::loopback(), port_of_(service::udp_echo));
        state->socket.open(udp::v4());
        boost::system::error_code ignored;
        state->socket.set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ignored);
        state->socket.connect(endpoint);
        udp_flows_.push_back(state);
        co_return std::make_unique<udp_flow>(std::move(state));
    }

    void abort() override {
        aborted_ = true;
        boost::system::error_code ignored;
        for (auto& weak : sockets_)
            if (auto socket = weak.lock()) socket->close(ignored);
        for (auto& weak : udp_flows_)
            if (auto state = weak.lock()) {
                state->socket.close(ignored);
                state->wake.cancel();
            }
    }

private:
    void track(std::shared_ptr<tcp::socket> const& socket) {
        if (sockets_.size() >= 1024 && sockets_.size() >= 2 * live_after_prune_) {
            std::erase_if(sockets_, [](auto const& weak) { return weak.expired(); });
            live_after_prune_ = sockets_.size();
        }
        sockets_.push_back(socket);
    }

    asio::any_io_executor executor_;
    std::function<std::uint16_t(service)> port_of_;
    std::vector<std::weak_ptr<tcp::socket>> sockets_;  // for abort()
    std::size_t live_after_prune_ = 0;
    std::vector<std::weak_ptr<udp_state>> udp_flows_;
    bool aborted_ = false;
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport(asio::any_io_executor ex,
                                              std::function<std::uint16_t(service)> port_of) {
    return std::make_unique<tcp_transport>(ex, std::move(port_of));
}

}  // namespace bench
