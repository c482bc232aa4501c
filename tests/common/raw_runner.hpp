#pragma once
// A runner written by hand, byte by byte, for runners that misbehave on purpose: refuse the
// upgrade with any status line, or complete it and then send exactly the bytes a test wants.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace tunnel::test {

// One accepted connection whose HTTP request head has been read.
struct raw_request {
    tcp::socket socket;
    std::size_t index = 0;  // accept order, from 0
    std::string head;       // request line and headers, blank line included
    // A header's value (name case-insensitive, value trimmed); empty when absent.
    std::string header(std::string_view name) const;
};

// Accepts on address:0, reads each request head, then runs handler with the connection.
class raw_runner {
public:
    using handler = std::function<asio::awaitable<void>(raw_request)>;
    raw_runner(asio::any_io_executor ex, handler h,
               asio::ip::address address = asio::ip::address_v4::loopback());
    ~raw_runner();
    std::uint16_t port() const;
    std::size_t accepted() const { return *accepted_; }  // TCP connections
    std::size_t requests() const { return *requests_; }  // request heads read (handler calls)
    void close();

private:
    tcp::acceptor acceptor_;
    std::shared_ptr<std::size_t> accepted_ = std::make_shared<std::size_t>(0);
    std::shared_ptr<std::size_t> requests_ = std::make_shared<std::size_t>(0);
};

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).
std::string websocket_accept(std::string_view key);

// Completes the WebSocket upgrade with a 101 (throws when the request carries no key).
asio::awaitable<void> accept_upgrade(raw_request& request);

// Answers with status_line (e.g. "HTTP/1.1 403 Forbidden"), the given headers and an empty body,
// then closes the connection.
asio::awaitable<void> refuse_upgrade(raw_request& request, std::string status_line,
                                     std::vector<std::pair<std::string, std::string>> headers = {});

// A close frame as a server sends it (unmasked) with this status code.
bytes server_close_frame(std::uint16_t code);

// Appends a binary message as a server sends it: one unmasked frame.
void append_server_message(bytes& out, std::span<std::uint8_t const> payload);

// One message from the client: a single frame, unmasked here.
struct client_message {
    std::uint8_t opcode = 0;  // 2 binary, 8 close, 9 ping, ...
    bytes payload;
};
asio::awaitable<client_message> read_client_message(tcp::socket& s);

}  // namespace tunnel::test
