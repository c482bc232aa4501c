#include "control/endpoint.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace tunnel::control {

namespace {
constexpr std::string_view prefix = "tunnel-client/";
constexpr std::size_t longest_id = 80;  // sun_path holds 107 bytes after the leading NUL

bool plain(std::string_view id) {
    return !id.empty() && id.size() <= longest_id &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::string hashed(std::string_view id) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a: stable across builds and machines
    for (unsigned char c : id) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char text[24];
    std::snprintf(text, sizeof text, "#%016llx", static_cast<unsigned long long>(h));
    return text;
}
}  // namespace

std::string endpoint_name(std::string_view container_id) {
    std::string name(1, '\0');
    name += prefix;
    name += plain(container_id) ? std::string(container_id) : hashed(container_id);
    return name;
}

std::string display_name(std::string_view name) {
    if (!name.empty() && name.front() == '\0') return "@" + std::string(name.substr(1));
    return std::string(name);
}

std::vector<std::string> listening_endpoints(std::string_view text) {
    // "Num RefCount Protocol Flags Type St Inode Path"; a listening socket has __SO_ACCEPTCON
    // (0x10000) in Flags, and an abstract name shows as "@name".
    std::vector<std::string> found;
    std::istringstream lines{std::string(text)};
    std::string line;
    std::getline(lines, line);  // the header
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string num, refs, proto, flags, type, st, inode, path;
        if (!(fields >> num >> refs >> proto >> flags >> type >> st >> inode >> path)) continue;
        unsigned long flag_bits = 0;
        try {
            flag_bits = std::stoul(flags, nullptr, 16);
        } catch (...) {
            continue;
        }
        if (!(flag_bits & 0x10000)) continue;
        if (path.size() <= 1 + prefix.size() || path[0] != '@' || path.compare(1, prefix.size(), prefix) != 0)
            continue;
        found.push_back('\0' + path.substr(1));
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
}

std::optional<std::vector<std::string>> find_listening_endpoints() {
    std::ifstream in("/proc/net/unix");
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return listening_endpoints(text.str());
}

}  // namespace tunnel::control
