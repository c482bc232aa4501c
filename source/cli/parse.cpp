#include "cli/parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace tunnel::cli {

std::optional<std::chrono::milliseconds> parse_seconds(std::string const& text) {
    if (text.empty() || text.size() > 32) return std::nullopt;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    double const v = std::strtod(text.c_str(), &end);
    if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0 || v > 86400.0 * 365)
        return std::nullopt;
    return std::chrono::milliseconds{static_cast<long long>(std::llround(v * 1000.0))};
}

std::optional<unsigned long> parse_count(std::string const& text) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    return std::stoul(text);
}

std::optional<std::size_t> parse_size(std::string const& text) {
    if (text.empty()) return std::nullopt;
    std::string digits = text;
    std::size_t multiplier = 1;
    auto suffix_at = digits.find_first_not_of("0123456789");
    if (suffix_at != std::string::npos) {
        std::string suffix = digits.substr(suffix_at);
        for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (suffix == "K" || suffix == "KB" || suffix == "KIB")
            multiplier = 1024;
        else if (suffix == "M" || suffix == "MB" || suffix == "MIB")
            multiplier = 1024 * 1024;
        else if (suffix == "G" || suffix == "GB" || suffix == "GIB")
            multiplier = 1024 * 1024 * 1024;
        else
            return std::nullopt;
        digits.resize(suffix_at);
    }
    auto const n = parse_count(digits);
    if (!n) return std::nullopt;
    if (*n > (std::size_t{1} << 40) / multiplier) return std::nullopt;
    return *n * multiplier;
}

std::string usage_error_text(std::string_view program, std::string_view what, std::string_view usage) {
    std::string text = std::string(program) + ": error: " + std::string(what) + "\n";
    if (!usage.empty()) text += std::string(usage) + "\n";
    return text + "Try '" + std::string(program) + " --help' for more.\n";
}

}  // namespace tunnel::cli
