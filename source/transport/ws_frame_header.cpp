#include "transport/ws_frame_header.hpp"

namespace tunnel::transport {

ws_frame_header client_binary_header(std::uint64_t payload_size, std::array<std::uint8_t, 4> key) {
    ws_frame_header h;
    auto* out = h.bytes.data();
    out[0] = 0x80 | 0x02;  // FIN, binary
    std::size_t n = 2;
    if (payload_size < 126) {
        out[1] = static_cast<std::uint8_t>(0x80 | payload_size);
    } else if (payload_size <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = static_cast<std::uint8_t>(payload_size >> 8);
        out[3] = static_cast<std::uint8_t>(payload_size);
        n = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(payload_size >> (56 - 8 * i));
        n = 10;
    }
    for (auto b : key) out[n++] = b;
    h.size = n;
    return h;
}

}  // namespace tunnel::transport
