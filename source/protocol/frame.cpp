#include "protocol/frame.hpp"

#include <cstring>
#include <ostream>

namespace tunnel::protocol {

header make_header(msg_type type, protocol::proto p, std::uint32_t client_id, std::uint16_t port) {
    return header{static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(p), client_id, port};
}

bool is_known_type(std::uint8_t type) { return type >= 0x01 && type <= 0x07; }

bool is_known_proto(std::uint8_t p) { return p == 0x00 || p == 0x01; }

std::string_view type_name(std::uint8_t type) {
    switch (static_cast<msg_type>(type)) {
        case msg_type::connect:
            return "CONNECT";
        case msg_type::connected:
            return "CONNECTED";
        case msg_type::data:
            return "DATA";
        case msg_type::close:
            return "CLOSE";
        case msg_type::error:
            return "ERROR";
        case msg_type::ping:
            return "PING";
        case msg_type::pong:
            return "PONG";
    }
    return "UNKNOWN";
}

std::string_view proto_name(std::uint8_t p) {
    switch (p) {
        case 0x00:
            return "tcp";
        case 0x01:
            return "udp";
        default:
            return "unknown";
    }
}

std::ostream& operator<<(std::ostream& out, msg_type type) {
    return out << type_name(static_cast<std::uint8_t>(type));
}

std::ostream& operator<<(std::ostream& out, header const& h) {
    return out << type_name(h.type) << ' ' << proto_name(h.proto) << " id=" << h.client_id
               << " port=" << h.port;
}

void write_header(std::uint8_t* out, header const& h) {
    out[0] = h.type;
    out[1] = h.proto;
    out[2] = static_cast<std::uint8_t>(h.client_id >> 24);
    out[3] = static_cast<std::uint8_t>(h.client_id >> 16);
    out[4] = static_cast<std::uint8_t>(h.client_id >> 8);
    out[5] = static_cast<std::uint8_t>(h.client_id);
    out[6] = static_cast<std::uint8_t>(h.port >> 8);
    out[7] = static_cast<std::uint8_t>(h.port);
}

std::optional<message> parse(std::span<std::uint8_t const> bytes) {
    if (bytes.size() < header_size) return std::nullopt;
    header h;
    h.type = bytes[0];
    h.proto = bytes[1];
    h.client_id = (std::uint32_t{bytes[2]} << 24) | (std::uint32_t{bytes[3]} << 16) |
                  (std::uint32_t{bytes[4]} << 8) | std::uint32_t{bytes[5]};
    h.port = static_cast<std::uint16_t>((bytes[6] << 8) | bytes[7]);
    return message{h, bytes.subspan(header_size)};
}

frame_bytes encode(header const& h, std::span<std::uint8_t const> payload) {
    frame_bytes out(header_size + payload.size());
    write_header(out.data(), h);
    if (!payload.empty()) std::memcpy(out.data() + header_size, payload.data(), payload.size());
    return out;
}

frame_bytes encode(header const& h, std::string_view payload) {
    return encode(h, std::span<std::uint8_t const>(reinterpret_cast<std::uint8_t const*>(payload.data()),
                                                   payload.size()));
}

}  // namespace tunnel::protocol
