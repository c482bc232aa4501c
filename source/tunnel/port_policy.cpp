#include "tunnel/port_policy.hpp"

#include <algorithm>

namespace tunnel {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

bool in(std::vector<port_range> const& ranges, std::uint16_t port) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [port](port_range const& r) { return r.first <= port && port <= r.last; });
}

}  // namespace

std::variant<std::vector<port_range>, std::string> parse_port_list(std::string_view text) {
    std::vector<port_range> ranges;
    if (trim(text).empty()) return std::string("empty port list");
    std::size_t start = 0;
    while (start <= text.size()) {
        auto const comma = std::min(text.find(',', start), text.size());
        auto const item = trim(text.substr(start, comma - start));
        start = comma + 1;
        if (item.empty()) return std::string("empty entry in the port list");
        auto const dash = item.find('-');
        auto const first = parse_port(trim(item.substr(0, dash)));
        auto const last = dash == std::string_view::npos ? first : parse_port(trim(item.substr(dash + 1)));
        if (!first || !last)
            return "'" + std::string(item) + "' is not a port (1-65535) or a range of ports (8000-8999)";
        if (*last < *first) return "range '" + std::string(item) + "' ends before it starts";
        ranges.push_back({*first, *last});
    }
    return ranges;
}

bool port_policy::allows(std::uint16_t port) const {
    if (in(deny, port)) return false;
    return allow.empty() || in(allow, port);
}

std::optional<std::string> port_policy::refusal(std::uint16_t port, std::size_t open) const {
    if (!allows(port)) return "port " + std::to_string(port) + " not allowed";
    if (max_connections != 0 && open >= max_connections) return std::string("too many connections");
    return std::nullopt;
}

}  // namespace tunnel
