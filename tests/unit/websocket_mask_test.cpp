#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

// Beast's own masking, as the Boost in this build defines it (detail/mask.ipp), compiled here under
// another namespace: in the program, websocket_mask.cpp replaces it (when the direct writer is on).
namespace boost::beast::websocket::beast_own {
using detail::prepared_key;
}
#define detail beast_own
#include <boost/beast/websocket/detail/mask.ipp>
#undef detail

namespace detail = boost::beast::websocket::detail;
namespace beast_own = boost::beast::websocket::beast_own;

BOOST_AUTO_TEST_SUITE(websocket_mask)

// Masks buffers of random sizes one after another (as Beast does for one frame) and compares with
// the definition: byte i of the frame is XORed with key byte i % 4.
BOOST_AUTO_TEST_CASE(matches_the_bytewise_definition) {
    std::mt19937 rng(7);
    for (int frame = 0; frame < 200; ++frame) {
        std::uint32_t const key = rng();
        detail::prepared_key prepared;
        detail::prepare_key(prepared, key);
        unsigned char const key_bytes[4] = {
            static_cast<unsigned char>(key), static_cast<unsigned char>(key >> 8),
            static_cast<unsigned char>(key >> 16), static_cast<unsigned char>(key >> 24)};
        std::size_t offset = 0;
        for (int piece = 0; piece < 6; ++piece) {
            std::vector<unsigned char> data(rng() % 300);
            for (auto& c : data) c = static_cast<unsigned char>(rng());
            auto expected = data;
            for (std::size_t i = 0; i < expected.size(); ++i) expected[i] ^= key_bytes[(offset + i) % 4];
            detail::mask_inplace(boost::asio::mutable_buffer(data.data(), data.size()), prepared);
            BOOST_REQUIRE(data == expected);
            offset += data.size();
        }
    }
}

// The same frames through the program's masking and Beast's own, piece by piece, at every
// alignment of the data: the bytes and the key carried to the next piece must be the same.
BOOST_AUTO_TEST_CASE(matches_beasts_own_masking) {
    std::mt19937 rng(11);
    for (int frame = 0; frame < 300; ++frame) {
        std::uint32_t const key = rng();
        detail::prepared_key ours;
        beast_own::prepared_key theirs;
        detail::prepare_key(ours, key);
        beast_own::prepare_key(theirs, key);
        BOOST_REQUIRE(ours == theirs);
        for (int piece = 0; piece < 8; ++piece) {
            std::size_t const offset = rng() % 16;  // where the piece starts: any alignment
            std::vector<unsigned char> data(offset + rng() % 700);
            for (auto& c : data) c = static_cast<unsigned char>(rng());
            auto expected = data;
            std::size_t const n = data.size() - offset;
            detail::mask_inplace(boost::asio::mutable_buffer(data.data() + offset, n), ours);
            beast_own::mask_inplace(boost::asio::mutable_buffer(expected.data() + offset, n), theirs);
            BOOST_REQUIRE_MESSAGE(data == expected, "frame " << frame << ", piece " << piece << ": " << n
                                                             << " bytes at offset " << offset);
            BOOST_REQUIRE(ours == theirs);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
