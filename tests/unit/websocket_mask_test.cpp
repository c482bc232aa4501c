#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

namespace detail = boost::beast::websocket::detail;

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

BOOST_AUTO_TEST_SUITE_END()
