#pragma once
// The header of one WebSocket frame (RFC 6455 section 5.2) as a client sends a whole binary
// message: FIN, opcode 2, the payload length in its shortest form, and the 4-byte masking key.
// Pure code, no I/O: the frame writer puts it in front of a frame it masks in place.

#include <array>
#include <cstddef>
#include <cstdint>

namespace tunnel::transport {

// 2 bytes, 8 bytes of extended length, 4 of key.
inline constexpr std::size_t max_ws_header_size = 14;

struct ws_frame_header {
    std::array<std::uint8_t, max_ws_header_size> bytes{};
    std::size_t size = 0;
};

// The key is given as the 4 bytes it takes on the wire, in order; they are also the bytes the
// payload is XORed with (payload byte i with key[i % 4]).
ws_frame_header client_binary_header(std::uint64_t payload_size, std::array<std::uint8_t, 4> key);

}  // namespace tunnel::transport
