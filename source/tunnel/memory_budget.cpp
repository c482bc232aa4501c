#include "tunnel/memory_budget.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace tunnel {

namespace {
constexpr std::size_t MiB = 1024 * 1024;
constexpr std::size_t no_limit_above = std::size_t{1} << 60;  // v1 says "none" with ~2^63
}  // namespace

std::optional<std::size_t> parse_cgroup_limit(std::string_view content) {
    while (!content.empty() && (content.back() == '\n' || content.back() == ' ')) content.remove_suffix(1);
    if (content.empty() || content.size() > 20) return std::nullopt;  // "max", or not a number
    std::size_t value = 0;
    for (char c : content) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (value == 0 || value >= no_limit_above) return std::nullopt;
    return value;
}

std::optional<memory_limit> find_memory_limit(std::string const& root, std::string const& self_cgroup) {
    // "0::/path" (v2) and "4:memory:/path" (v1, possibly with other controllers: "4:cpu,memory:/path").
    std::string v2_path, v1_path;
    std::ifstream self(self_cgroup);
    for (std::string line; std::getline(self, line);) {
        auto const first = line.find(':');
        auto const second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        auto const controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        auto const path = line.substr(second + 1);
        if (line.compare(0, first, "0") == 0 && second == first + 1) v2_path = path;
        if (controllers.find(",memory,") != std::string::npos) v1_path = path;
    }
    std::vector<std::string> candidates;
    if (!v2_path.empty() && v2_path != "/") candidates.push_back(root + v2_path + "/memory.max");
    candidates.push_back(root + "/memory.max");
    if (!v1_path.empty() && v1_path != "/") candidates.push_back(root + "/memory" + v1_path + "/memory.limit_in_bytes");
    candidates.push_back(root + "/memory/memory.limit_in_bytes");
    for (auto const& file : candidates) {
        std::ifstream in(file);
        if (!in) continue;
        std::ostringstream text;
        text << in.rdbuf();
        if (auto bytes = parse_cgroup_limit(text.str())) return memory_limit{*bytes, file};
    }
    return std::nullopt;
}

std::size_t session_buffer_for(std::optional<std::size_t> limit) {
    if (!limit) return 64 * MiB;
    return std::clamp(*limit / 8, 4 * MiB, 64 * MiB);
}

}  // namespace tunnel
