#include "runner/forwarder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <deque>
#include <functional>

#include "log/logging.hpp"
#include "transport/frame_writer.hpp"

namespace tunnel::runner {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using protocol::msg_type;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Bytes queued toward one user connection before the emulator stops reading the tunnel.
constexpr std::size_t user_buffer = 16 * 1024 * 1024;

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<forward_spec> parse_forward(std::string_view text) {
    forward_spec spec;
    if (text.ends_with("/udp")) {
        spec.proto = protocol::proto::udp;
        text.remove_suffix(4);
    } else if (text.ends_with("/tcp")) {
        text.remove_suffix(4);
    }
    auto const first = text.find(':');
    auto const last = text.rfind(':');
    if (first == std::string_view::npos || first == last) return std::nullopt;
    auto listen = parse_port(text.substr(0, first));
    auto target = parse_port(text.substr(last + 1));
    spec.container_id = std::string(text.substr(first + 1, last - first - 1));
    if (!listen || !target || *target == 0 || spec.container_id.empty()) return std::nullopt;
    spec.listen_port = *listen;
    spec.target_port = *target;
    return spec;
}

// A user's TCP connection on a forward port, as the CLI holds it.
struct tcp_user {
    explicit tcp_user(tcp::socket s) : socket(std::move(s)), wake(socket.get_executor()) {}
    tcp::socket socket;
    std::deque<frame_bytes> pending;
    std::size_t pending_bytes = 0;
    bool tunnel_closed = false;  // CLOSE or ERROR from the client: flush, then close
    bool done = false;
    asio::steady_timer wake;
};

struct udp_flow {
    udp::socket* socket = nullptr;
    udp::endpoint user;
};

struct emulator::router : std::enable_shared_from_this<router> {
    router(std::shared_ptr<tunnel_peer> p, asio::any_io_executor ex) : peer(std::move(p)), drained(ex) {}

    std::shared_ptr<tunnel_peer> peer;
    asio::steady_timer drained;  // the read loop waits on it while a user connection is full
    std::uint32_t next_id = 1;
    std::map<std::uint32_t, std::shared_ptr<tcp_user>> tcp_users;
    std::map<std::uint32_t, udp_flow> udp_flows;
    bool ended = false;

    std::uint32_t allocate_id() { return next_id++; }

    asio::awaitable<void> read_loop();
    void end();
};

struct emulator::tcp_forward {
    forward_spec spec;
    tcp::acceptor acceptor;
};

struct emulator::udp_forward {
    forward_spec spec;
    udp::socket socket;
    std::weak_ptr<router> owner;
    std::map<udp::endpoint, std::uint32_t> ids;
};

void emulator::router::end() {
    if (ended) return;
    ended = true;
    for (auto& [id, user] : tcp_users) {
        user->done = true;
        error_code ignored;
        user->socket.close(ignored);
        user->wake.cancel();
    }
    tcp_users.clear();
    udp_flows.clear();
    drained.cancel();
}

asio::awaitable<void> emulator::router::read_loop() {
    for (;;) {
        // (Not `while (auto m = co_await ...)`: GCC 12 miscompiles co_await inside a condition.)
        auto message = co_await peer->receive();
        if (!message) break;
        if (!message->binary) continue;
        auto parsed = protocol::parse(message->bytes);
        if (!parsed) continue;
        auto const& h = parsed->header;
        switch (h.kind()) {
            case msg_type::data:
                if (h.transport() == protocol::proto::udp) {
                    auto it = udp_flows.find(h.client_id);
                    if (it == udp_flows.end()) break;
                    error_code ignored;
                    it->second.socket->send_to(asio::buffer(parsed->payload.data(), parsed->payload.size()),
                                               it->second.user, 0, ignored);
                } else {
                    auto it = tcp_users.find(h.client_id);
                    if (it == tcp_users.end()) break;
                    auto user = it->second;
                    user->pending.emplace_back(parsed->payload.begin(), parsed->payload.end());
                    user->pending_bytes += parsed->payload.size();
                    user->wake.cancel();
                    while (user->pending_bytes > user_buffer && !user->done && !ended) {
                        drained.expires_at(asio::steady_timer::time_point::max());
                        co_await drained.async_wait(use_tuple);
                    }
                }
                break;
            case msg_type::close:
            case msg_type::error:
                if (h.kind() == msg_type::error)
                    log_info("runner: client could not connect",
                             {{"client_id", h.client_id},
                              {"reason", std::string(parsed->payload.begin(), parsed->payload.end())}});
                if (auto it = tcp_users.find(h.client_id); it != tcp_users.end()) {
                    it->second->tunnel_closed = true;
                    it->second->wake.cancel();
                    tcp_users.erase(it);
                }
                udp_flows.erase(h.client_id);
                break;
            default:
                break;  // CONNECTED, PONG: nothing to do
        }
    }
    end();
}

emulator::emulator(asio::any_io_executor ex, tcp::endpoint tunnel_endpoint,
                   std::vector<forward_spec> forwards, listener_options options)
    : executor_(ex), listener_(ex, tunnel_endpoint, options), routers_changed_(ex) {
    auto const loopback = tunnel_endpoint.address();
    for (auto& spec : forwards) {
        if (spec.proto == protocol::proto::udp) {
            auto f = std::make_shared<udp_forward>(
                udp_forward{spec, udp::socket(ex, udp::endpoint(loopback, spec.listen_port)), {}, {}});
            forward_index_.emplace_back(udp_forwards_.size(), true);
            udp_forwards_.push_back(std::move(f));
        } else {
            auto f = std::make_shared<tcp_forward>(
                tcp_forward{spec, tcp::acceptor(ex, tcp::endpoint(loopback, spec.listen_port))});
            forward_index_.emplace_back(tcp_forwards_.size(), false);
            tcp_forwards_.push_back(std::move(f));
        }
    }
}

emulator::~emulator() { stop(); }

std::uint16_t emulator::forward_port(std::size_t index) const {
    auto const [slot, is_udp] = forward_index_.at(index);
    return is_udp ? udp_forwards_[slot]->socket.local_endpoint().port()
                  : tcp_forwards_[slot]->acceptor.local_endpoint().port();
}

void emulator::start() {
    asio::co_spawn(executor_, accept_tunnels(), asio::detached);
    for (auto& f : tcp_forwards_) asio::co_spawn(executor_, accept_users(f), asio::detached);
    for (auto& f : udp_forwards_) asio::co_spawn(executor_, relay_datagrams(f), asio::detached);
}

void emulator::stop() {
    if (stopped_) return;
    stopped_ = true;
    listener_.close();
    error_code ignored;
    for (auto& f : tcp_forwards_) f->acceptor.close(ignored);
    for (auto& f : udp_forwards_) f->socket.close(ignored);
    for (auto& [id, weak] : routers_)
        if (auto r = weak.lock()) {
            r->peer->abort();
            r->end();
        }
    routers_.clear();
    routers_changed_.cancel();
}

std::shared_ptr<emulator::router> emulator::current_router(std::string const& container_id) const {
    auto it = routers_.find(container_id);
    if (it == routers_.end()) return nullptr;
    auto r = it->second.lock();
    return r && !r->ended ? r : nullptr;
}

asio::awaitable<bool> emulator::wait_for_client(std::string container_id, std::chrono::milliseconds timeout) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (!current_router(container_id)) {
        if (stopped_ || std::chrono::steady_clock::now() >= deadline) co_return false;
        routers_changed_.expires_at(deadline);
        co_await routers_changed_.async_wait(use_tuple);
    }
    co_return true;
}

asio::awaitable<void> emulator::accept_tunnels() {
    for (;;) {
        auto peer = co_await listener_.accept();
        if (!peer) break;
        ++sessions_accepted_;
        log_info("runner: tunnel connected", {{"container_id", peer->container_id()}});
        auto r = std::make_shared<router>(peer, executor_);
        // A second tunnel with the same container id replaces the first, as on the runner.
        routers_[peer->container_id()] = r;
        routers_changed_.cancel();
        asio::co_spawn(
            executor_,
            [this, r, alive = std::weak_ptr<void>(alive_)]() -> asio::awaitable<void> {
                co_await r->read_loop();
                log_info("runner: tunnel disconnected", {{"container_id", r->peer->container_id()}});
                if (!alive.expired() && !stopped_) {  // the emulator may be gone by now
                    auto it = routers_.find(r->peer->container_id());
                    if (it != routers_.end() && it->second.lock() == r) routers_.erase(it);
                }
            },
            asio::detached);
    }
}

namespace {

asio::awaitable<void> user_to_tunnel(std::shared_ptr<emulator::router> r, std::shared_ptr<tcp_user> user,
                                     std::uint32_t id, std::uint16_t port) {
    std::vector<std::uint8_t> buffer(protocol::max_data_payload);
    while (!user->done) {
        auto [ec, n] = co_await user->socket.async_read_some(asio::buffer(buffer), use_tuple);
        if (ec || user->done) break;
        if (user->tunnel_closed) continue;
        auto frame = protocol::encode(protocol::make_header(msg_type::data, protocol::proto::tcp, id, port),
                                      std::span<std::uint8_t const>(buffer.data(), n));
        bool const sent = co_await r->peer->send_data(std::move(frame));
        if (!sent) break;
    }
    if (!user->tunnel_closed && !r->ended) {
        // The user hung up: like the CLI, tell the client and forget the id.
        r->peer->send(
            protocol::encode(protocol::make_header(msg_type::close, protocol::proto::tcp, id, port)));
        r->tcp_users.erase(id);
    }
    user->done = true;
    error_code ignored;
    user->socket.close(ignored);
    user->wake.cancel();
}

asio::awaitable<void> tunnel_to_user(std::shared_ptr<emulator::router> r, std::shared_ptr<tcp_user> user) {
    while (!user->done) {
        if (user->pending.empty()) {
            if (user->tunnel_closed) break;
            user->wake.expires_at(asio::steady_timer::time_point::max());
            co_await user->wake.async_wait(use_tuple);
            continue;
        }
        auto [ec, n] =
            co_await asio::async_write(user->socket, asio::buffer(user->pending.front()), use_tuple);
        if (ec) break;
        user->pending_bytes -= user->pending.front().size();
        user->pending.pop_front();
        if (user->pending_bytes <= user_buffer) r->drained.cancel();
    }
    user->done = true;
    error_code ignored;
    user->socket.shutdown(tcp::socket::shutdown_send, ignored);
    user->socket.close(ignored);
}

}  // namespace

asio::awaitable<void> emulator::accept_users(std::shared_ptr<tcp_forward> forward) {
    for (;;) {
        auto [ec, socket] = co_await forward->acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || stopped_) co_return;
        if (ec) continue;
        auto r = current_router(forward->spec.container_id);
        if (!r) {
            log_info("runner: no tunnel for container", {{"container_id", forward->spec.container_id}});
            continue;  // the socket closes: nobody to forward to
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto user = std::make_shared<tcp_user>(std::move(socket));
        auto const id = r->allocate_id();
        auto const port = forward->spec.target_port;
        r->tcp_users[id] = user;
        r->peer->send(
            protocol::encode(protocol::make_header(msg_type::connect, protocol::proto::tcp, id, port)));
        asio::co_spawn(
            executor_,
            [r, user, id, port]() -> asio::awaitable<void> {
                co_await (user_to_tunnel(r, user, id, port) && tunnel_to_user(r, user));
            },
            asio::detached);
    }
}

asio::awaitable<void> emulator::relay_datagrams(std::shared_ptr<udp_forward> forward) {
    std::vector<std::uint8_t> buffer(65536);
    for (;;) {
        udp::endpoint from;
        auto [ec, n] = co_await forward->socket.async_receive_from(asio::buffer(buffer), from, use_tuple);
        if (ec == asio::error::operation_aborted || stopped_) co_return;
        if (ec) continue;
        auto r = current_router(forward->spec.container_id);
        if (!r) continue;
        if (forward->owner.lock() != r) {  // a new tunnel: its flows start afresh
            forward->owner = r;
            forward->ids.clear();
        }
        auto const port = forward->spec.target_port;
        auto it = forward->ids.find(from);
        if (it == forward->ids.end() || !r->udp_flows.contains(it->second)) {
            auto const id = r->allocate_id();
            forward->ids[from] = id;
            r->udp_flows[id] = udp_flow{&forward->socket, from};
            r->peer->send(
                protocol::encode(protocol::make_header(msg_type::connect, protocol::proto::udp, id, port)));
            it = forward->ids.find(from);
        }
        r->peer->send(
            protocol::encode(protocol::make_header(msg_type::data, protocol::proto::udp, it->second, port),
                             std::span<std::uint8_t const>(buffer.data(), n)));
    }
}

}  // namespace tunnel::runner
