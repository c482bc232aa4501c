#include "tunnel/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace tunnel {

std::chrono::milliseconds backoff_delay(backoff_policy const& policy, unsigned failures, double jitter01) {
    if (failures == 0) return std::chrono::milliseconds{0};
    double const base = static_cast<double>(policy.base.count());
    double const cap = static_cast<double>(std::max(policy.cap, policy.base).count());
    // Exponent capped so the double never overflows however many failures have piled up.
    double const grown = std::min(cap, base * std::pow(2.0, std::min(failures - 1, 40u)));
    double const jittered = std::min(cap, grown * (1.0 + 0.25 * std::clamp(jitter01, 0.0, 1.0)));
    return std::chrono::milliseconds{static_cast<long long>(jittered)};
}

backoff::backoff(backoff_policy policy, std::uint32_t seed) : policy_(policy), rng_(seed) {}

std::chrono::milliseconds backoff::next_delay() {
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    return backoff_delay(policy_, failures_, jitter(rng_));
}

}  // namespace tunnel
