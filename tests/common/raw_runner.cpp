#include "raw_runner.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <stdexcept>

namespace tunnel::test {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_head = 16 * 1024;

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

}  // namespace

std::string raw_request::header(std::string_view name) const {
    auto const wanted = lower(name);
    std::size_t start = head.find("\r\n");  // skip the request line
    while (start != std::string::npos && start + 2 < head.size()) {
        start += 2;
        auto const end = head.find("\r\n", start);
        std::string_view const line(head.data() + start,
                                    (end == std::string::npos ? head.size() : end) - start);
        auto const colon = line.find(':');
        if (colon != std::string_view::npos && lower(trim(line.substr(0, colon))) == wanted)
            return std::string(trim(line.substr(colon + 1)));
        start = end;
    }
    return {};
}

raw_runner::raw_runner(asio::any_io_executor ex, handler h, asio::ip::address address)
    : acceptor_(ex, tcp::endpoint(address, 0)) {
    asio::co_spawn(
        ex,
        [this, h, accepted = accepted_, requests = requests_]() -> asio::awaitable<void> {
            for (;;) {
                auto [ec, s] = co_await acceptor_.async_accept(use_tuple);
                if (ec) co_return;
                std::size_t const index = (*accepted)++;
                asio::co_spawn(
                    acceptor_.get_executor(),
                    [h, requests, index, s = std::move(s)]() mutable -> asio::awaitable<void> {
                        std::string head;
                        auto [rec, n] = co_await asio::async_read_until(
                            s, asio::dynamic_buffer(head, max_head), "\r\n\r\n", use_tuple);
                        if (rec) co_return;
                        head.resize(n);  // a client sends nothing after the head before it is answered
                        ++*requests;
                        // A named request: GCC 12 destroys a braced temporary in a co_await twice.
                        raw_request request{std::move(s), index, std::move(head)};
                        co_await h(std::move(request));
                    },
                    [](std::exception_ptr) {});
            }
        },
        [](std::exception_ptr) {});
}

raw_runner::~raw_runner() { close(); }

std::uint16_t raw_runner::port() const { return acceptor_.local_endpoint().port(); }

void raw_runner::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

std::string websocket_accept(std::string_view key) {
    std::string const input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    int const written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(len));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

asio::awaitable<void> accept_upgrade(raw_request& request) {
    auto const key = request.header("Sec-WebSocket-Key");
    if (key.empty()) throw std::runtime_error("not a WebSocket upgrade request:\n" + request.head);
    std::string const response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        websocket_accept(key) + "\r\n\r\n";
    co_await write_all(request.socket,
                       std::span(reinterpret_cast<std::uint8_t const*>(response.data()), response.size()));
}

asio::awaitable<void> refuse_upgrade(raw_request& request, std::string status_line,
                                     std::vector<std::pair<std::string, std::string>> headers) {
    std::string response = status_line + "\r\n";
    for (auto const& [name, value] : headers) response += name + ": " + value + "\r\n";
    response += "Content-Length: 0\r\nConnection: close\r\n\r\n";
    co_await write_all(request.socket,
                       std::span(reinterpret_cast<std::uint8_t const*>(response.data()), response.size()));
    boost::system::error_code ignored;
    request.socket.shutdown(tcp::socket::shutdown_send, ignored);
    request.socket.close(ignored);
}

bytes server_close_frame(std::uint16_t code) {
    // FIN + opcode 8, unmasked, 2-byte payload: the code in network order.
    return {0x88, 0x02, static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code & 0xFF)};
}

void append_server_message(bytes& out, std::span<std::uint8_t const> payload) {
    out.push_back(0x82);  // FIN, binary
    auto const n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else if (n <= 0xFFFF) {
        out.push_back(126);
        out.push_back(static_cast<std::uint8_t>(n >> 8));
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        out.push_back(127);
        for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
    }
    out.insert(out.end(), payload.begin(), payload.end());
}

asio::awaitable<client_message> read_client_message(tcp::socket& s) {
    auto const head = co_await read_exact(s, 2);
    if ((head[0] & 0x80) == 0) throw std::runtime_error("fragmented message from the client");
    if ((head[1] & 0x80) == 0) throw std::runtime_error("unmasked frame from the client");
    std::uint64_t n = head[1] & 0x7F;
    if (n >= 126) {
        auto const ext = co_await read_exact(s, n == 126 ? 2 : 8);
        n = 0;
        for (auto b : ext) n = (n << 8) | b;
    }
    auto const mask = co_await read_exact(s, 4);
    client_message message;
    message.opcode = head[0] & 0x0F;
    message.payload = co_await read_exact(s, n);
    for (std::size_t i = 0; i < message.payload.size(); ++i) message.payload[i] ^= mask[i % 4];
    co_return message;
}

}  // namespace tunnel::test
