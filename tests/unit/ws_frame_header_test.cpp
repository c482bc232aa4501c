// The header the frame writer puts in front of a client's DATA frame, byte for byte as Beast
// writes the same frame's header, at every boundary of the length's three forms.

#include "transport/ws_frame_header.hpp"

#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <vector>

namespace detail = boost::beast::websocket::detail;
using tunnel::transport::client_binary_header;

BOOST_AUTO_TEST_SUITE(ws_frame_header)

BOOST_AUTO_TEST_CASE(matches_beasts_header_for_a_masked_binary_frame_of_every_length_form) {
    std::array<std::uint8_t, 4> const key{0x12, 0x34, 0x56, 0x78};
    std::uint32_t key_word;
    std::memcpy(&key_word, key.data(), 4);  // Beast keeps the key as the word whose bytes go out
    for (std::uint64_t len : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 262152ull,
                              (1ull << 32) + 5, (1ull << 62) + 3}) {
        detail::frame_header fh{};
        fh.op = detail::opcode::binary;
        fh.fin = true;
        fh.mask = true;
        fh.len = len;
        fh.key = key_word;
        detail::fh_buffer beast;
        detail::write(beast, fh);
        auto const* expected = static_cast<std::uint8_t const*>(beast.data().data());
        auto const ours = client_binary_header(len, key);
        BOOST_TEST_CONTEXT("payload length " << len) {
            BOOST_TEST(std::vector<std::uint8_t>(ours.bytes.data(), ours.bytes.data() + ours.size) ==
                           std::vector<std::uint8_t>(expected, expected + beast.size()),
                       boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
