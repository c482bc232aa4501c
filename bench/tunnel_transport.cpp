// The tunnel transport: the harness is the runner and its user at once. A connection is a stream
// on the tunnel (CONNECT, then DATA right away, as the runner's CLI does).

#include <algorithm>
#include <cstring>

#include "transport.hpp"

namespace bench {

namespace asio = boost::asio;
namespace protocol = tunnel::protocol;

namespace {

constexpr auto forever = clock_type::time_point::max();  // the run's watchdog aborts the driver

class tunnel_connection final : public connection {
public:
    tunnel_connection(std::shared_ptr<tunnel_driver> driver, std::shared_ptr<tunnel_stream> stream)
        : driver_(std::move(driver)), stream_(std::move(stream)) {}
    ~tunnel_connection() override { close(); }

    asio::awaitable<bool> wait_open() override {
        while (!stream_->connected && !stream_->over()) co_await driver_->wait(*stream_, forever);
        co_return stream_->connected && !stream_->failed;
    }

    asio::awaitable<bool> write(std::span<std::uint8_t const> bytes) override {
        bool const sent = co_await driver_->send(*stream_, bytes);
        co_return sent;
    }

    asio::awaitable<bool> read_exact(std::span<std::uint8_t> out) override {
        auto& s = *stream_;
        while (s.inbox.size() < out.size() && !s.over()) co_await driver_->wait(s, forever);
        if (s.inbox.size() < out.size()) co_return false;
        std::memcpy(out.data(), s.inbox.data(), out.size());
        s.inbox.erase(s.inbox.begin(), s.inbox.begin() + static_cast<std::ptrdiff_t>(out.size()));
        co_return true;
    }

    asio::awaitable<std::optional<std::size_t>> read_to_end() override {
        auto& s = *stream_;
        s.discard = true;
        std::size_t const base = s.bytes_in - s.inbox.size();
        s.inbox.clear();
        while (!s.over()) co_await driver_->wait(s, forever);
        if (s.failed) co_return std::nullopt;
        co_return s.bytes_in - base;
    }

    void close() override { driver_->close(*stream_); }

    tunnel_stream const& stream() const { return *stream_; }

private:
    std::shared_ptr<tunnel_driver> driver_;
    std::shared_ptr<tunnel_stream> stream_;
};

class tunnel_flow final : public datagram_flow {
public:
    tunnel_flow(std::shared_ptr<tunnel_driver> driver, std::shared_ptr<tunnel_stream> stream)
        : driver_(std::move(driver)), stream_(std::move(stream)) {
        stream_->discard = true;
    }
    ~tunnel_flow() override { close(); }

    asio::awaitable<bool> send(std::span<std::uint8_t const> datagram) override {
        bool const sent = co_await driver_->send(*stream_, datagram);
        co_return sent;
    }
    std::size_t received() const override { return stream_->frames_in; }
    asio::awaitable<void> wait_receive(clock_type::time_point deadline) override {
        co_await driver_->wait(*stream_, deadline);
    }
    void close() override { driver_->close(*stream_); }

private:
    std::shared_ptr<tunnel_driver> driver_;
    std::shared_ptr<tunnel_stream> stream_;
};

class tunnel_transport final : public transport {
public:
    tunnel_transport(std::shared_ptr<tunnel_driver> driver, services& svc)
        : driver_(std::move(driver)), svc_(svc) {}

    asio::awaitable<std::unique_ptr<connection>> connect(service s) override {
        auto stream = driver_->open(protocol::proto::tcp, svc_.port(s));
        co_return std::make_unique<tunnel_connection>(driver_, std::move(stream));
    }

    asio::awaitable<std::unique_ptr<datagram_flow>> open_udp() override {
        auto stream = driver_->open(protocol::proto::udp, svc_.port(service::udp_echo));
        co_return std::make_unique<tunnel_flow>(driver_, std::move(stream));
    }

    void abort() override { driver_->abort(); }

private:
    std::shared_ptr<tunnel_driver> driver_;
    services& svc_;
};

}  // namespace

std::unique_ptr<transport> make_tunnel_transport(std::shared_ptr<tunnel_driver> driver, services& svc) {
    return std::make_unique<tunnel_transport>(std::move(driver), svc);
}

}  // namespace bench
