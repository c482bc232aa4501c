// Beast's WebSocket masking (every frame a client sends is XORed with a 4-byte key) goes a byte
// at a time and was the largest user-space cost of the upstream path (14% of the client's CPU).
// Same functions, same results, 8 bytes at a time (which the compiler vectorises).

#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/version.hpp>
#include <cstdint>
#include <cstring>

// These replace Beast's own definitions (boost_beast.cpp leaves mask.ipp out by its include guard),
// so they must match that Beast's declarations and semantics exactly. Checked against Boost 1.81:
// another Boost must be checked again (detail/mask.ipp) before this number is changed.
static_assert(BOOST_VERSION / 100 == 1081,
              "websocket_mask.cpp replaces Beast internals of Boost 1.81: recheck them");

namespace boost::beast::websocket::detail {

void prepare_key(prepared_key& prepared, std::uint32_t key) {
    prepared[0] = static_cast<unsigned char>((key >> 0) & 0xff);
    prepared[1] = static_cast<unsigned char>((key >> 8) & 0xff);
    prepared[2] = static_cast<unsigned char>((key >> 16) & 0xff);
    prepared[3] = static_cast<unsigned char>((key >> 24) & 0xff);
}

void mask_inplace(net::mutable_buffer const& b, prepared_key& key) {
    auto* p = static_cast<unsigned char*>(b.data());
    std::size_t n = b.size();
    // The key repeated twice: byte i of any 8-byte block is masked with key[i % 4].
    std::uint64_t wide;
    std::memcpy(&wide, key.data(), 4);
    std::memcpy(reinterpret_cast<unsigned char*>(&wide) + 4, key.data(), 4);
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        v ^= wide;
        std::memcpy(p, &v, 8);
    }
    for (std::size_t i = 0; i < n; ++i) p[i] ^= key[i % 4];
    // The next buffer of this frame continues where this one stopped in the key.
    if (std::size_t const shift = n % 4) {
        auto const before = key;
        for (std::size_t i = 0; i < 4; ++i) key[i] = before[(i + shift) % 4];
    }
}

}  // namespace boost::beast::websocket::detail
