#pragma once
// Deterministic non-zero payload bytes (so that nothing along the path can shortcut zero pages).

#include <cstdint>
#include <vector>

namespace bench {

inline std::vector<std::uint8_t> make_pattern(std::size_t n) {
    std::vector<std::uint8_t> out(n);
    std::uint32_t x = 0x9e3779b9u;
    for (auto& b : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::uint8_t>(x);
    }
    return out;
}

}  // namespace bench
