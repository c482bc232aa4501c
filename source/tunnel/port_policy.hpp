#pragma once
// Which local ports the runner may open, and how many connections at once: checked on CONNECT
// before any socket is made, so a refused port costs the container nothing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tunnel {

struct port_range {
    std::uint16_t first = 1;
    std::uint16_t last = 65535;
    bool operator==(port_range const&) const = default;
};

// "22,8000-8999" -> ranges. Refused, with a one-line reason: empty entries, non-numbers, 0, ports
// over 65535, a range whose end is before its start. Spaces around entries are ignored.
std::variant<std::vector<port_range>, std::string> parse_port_list(std::string_view text);

struct port_policy {
    std::vector<port_range> allow;  // empty: every port
    std::vector<port_range> deny;   // wins over allow
    std::size_t max_connections = 0;  // TCP and UDP together; 0: no limit

    bool allows(std::uint16_t port) const;
    // Why a CONNECT to port must be refused while `open` connections run, or nullopt: the text is
    // the ERROR payload the runner gets ("port 23 not allowed", "too many connections").
    std::optional<std::string> refusal(std::uint16_t port, std::size_t open) const;
};

}  // namespace tunnel
