#pragma once
// The tunnel wire format: every WebSocket binary message is an 8-byte big-endian header
// (type u8 | proto u8 | client_id u32 | port u16) followed by the payload. Pure code, no I/O.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/frame_bytes.hpp"

namespace tunnel::protocol {

inline constexpr std::size_t header_size = 8;

// Largest DATA payload we send: 256 KiB, a quarter of what the runner's users accept (1 MiB).
// Fewer, larger frames cost a bulk upload a quarter less CPU per byte than 64 KiB ones.
inline constexpr std::size_t max_data_payload = 256 * 1024;

enum class msg_type : std::uint8_t {
    connect = 0x01,
    connected = 0x02,
    data = 0x03,
    close = 0x04,
    error = 0x05,
    ping = 0x06,
    pong = 0x07,
};

enum class proto : std::uint8_t {
    tcp = 0x00,
    udp = 0x01,
};

// Type and proto are kept as raw bytes so that unknown values survive parsing and can be logged.
struct header {
    std::uint8_t type = 0;
    std::uint8_t proto = 0;
    std::uint32_t client_id = 0;
    std::uint16_t port = 0;

    msg_type kind() const { return static_cast<msg_type>(type); }
    protocol::proto transport() const { return static_cast<protocol::proto>(proto); }
    friend bool operator==(header const&, header const&) = default;
};

header make_header(msg_type type, protocol::proto p, std::uint32_t client_id, std::uint16_t port);

bool is_known_type(std::uint8_t type);
bool is_known_proto(std::uint8_t proto);
std::string_view type_name(std::uint8_t type);    // "CONNECT", ..., or "UNKNOWN"
std::string_view proto_name(std::uint8_t proto);  // "tcp", "udp" or "unknown"

// For diagnostics (test failure messages): "DATA", "DATA tcp id=3 port=80".
std::ostream& operator<<(std::ostream& out, msg_type type);
std::ostream& operator<<(std::ostream& out, header const& h);

// Writes the 8 header bytes at out (which must have room for header_size bytes).
void write_header(std::uint8_t* out, header const& h);

// A parsed message: header plus a view of the payload inside the original bytes.
struct message {
    protocol::header header;
    std::span<std::uint8_t const> payload;
};

// nullopt when the message is shorter than a header.
std::optional<message> parse(std::span<std::uint8_t const> bytes);

// A whole frame (header + payload) in one contiguous buffer, ready to send.
frame_bytes encode(header const& h, std::span<std::uint8_t const> payload = {});
frame_bytes encode(header const& h, std::string_view payload);

}  // namespace tunnel::protocol
