#include "protocol/frame.hpp"

#include <array>
#include <boost/test/unit_test.hpp>

using namespace tunnel::protocol;

BOOST_AUTO_TEST_SUITE(frame)

BOOST_AUTO_TEST_CASE(header_layout_is_big_endian) {
    std::array<std::uint8_t, header_size> out{};
    write_header(out.data(), make_header(msg_type::data, proto::udp, 0x01020304, 0xABCD));
    std::array<std::uint8_t, header_size> const expected{0x03, 0x01, 0x01, 0x02, 0x03, 0x04, 0xAB, 0xCD};
    BOOST_TEST(out == expected);
}

BOOST_AUTO_TEST_CASE(every_type_round_trips) {
    for (auto type : {msg_type::connect, msg_type::connected, msg_type::data, msg_type::close,
                      msg_type::error, msg_type::ping, msg_type::pong}) {
        for (auto p : {proto::tcp, proto::udp}) {
            auto const h = make_header(type, p, 0xFFFFFFFF, 65535);
            auto const bytes = encode(h, "payload");
            auto const parsed = parse(bytes);
            BOOST_REQUIRE(parsed);
            BOOST_TEST(parsed->header == h);
            BOOST_TEST(parsed->header.kind() == type);
            BOOST_TEST(std::string(parsed->payload.begin(), parsed->payload.end()) == "payload");
            BOOST_TEST(is_known_type(static_cast<std::uint8_t>(type)));
            BOOST_TEST(type_name(static_cast<std::uint8_t>(type)) != "UNKNOWN");
        }
    }
}

BOOST_AUTO_TEST_CASE(known_values_match_the_protocol_table) {
    BOOST_TEST(static_cast<int>(msg_type::connect) == 0x01);
    BOOST_TEST(static_cast<int>(msg_type::connected) == 0x02);
    BOOST_TEST(static_cast<int>(msg_type::data) == 0x03);
    BOOST_TEST(static_cast<int>(msg_type::close) == 0x04);
    BOOST_TEST(static_cast<int>(msg_type::error) == 0x05);
    BOOST_TEST(static_cast<int>(msg_type::ping) == 0x06);
    BOOST_TEST(static_cast<int>(msg_type::pong) == 0x07);
    BOOST_TEST(static_cast<int>(proto::tcp) == 0x00);
    BOOST_TEST(static_cast<int>(proto::udp) == 0x01);
}

BOOST_AUTO_TEST_CASE(header_only_message_has_empty_payload) {
    auto const bytes = encode(make_header(msg_type::close, proto::tcp, 7, 80));
    BOOST_TEST(bytes.size() == header_size);
    auto const parsed = parse(bytes);
    BOOST_REQUIRE(parsed);
    BOOST_TEST(parsed->payload.empty());
    BOOST_TEST(parsed->header.client_id == 7u);
    BOOST_TEST(parsed->header.port == 80);
}

BOOST_AUTO_TEST_CASE(short_messages_are_rejected) {
    std::array<std::uint8_t, 7> const seven{1, 0, 0, 0, 0, 1, 0};
    for (std::size_t n = 0; n < header_size; ++n)
        BOOST_TEST(!parse(std::span<std::uint8_t const>(seven.data(), n)).has_value());
}

BOOST_AUTO_TEST_CASE(unknown_type_and_proto_survive_parsing) {
    std::array<std::uint8_t, header_size + 2> const raw{0x42, 0x09, 0, 0, 0, 5, 0, 22, 'h', 'i'};
    auto const parsed = parse(raw);
    BOOST_REQUIRE(parsed);
    BOOST_TEST(parsed->header.type == 0x42);
    BOOST_TEST(parsed->header.proto == 0x09);
    BOOST_TEST(!is_known_type(parsed->header.type));
    BOOST_TEST(!is_known_proto(parsed->header.proto));
    BOOST_TEST(type_name(0x42) == "UNKNOWN");
    BOOST_TEST(proto_name(0x09) == "unknown");
    BOOST_TEST(!is_known_type(0x00));
    BOOST_TEST(!is_known_type(0x08));
    BOOST_TEST(parsed->payload.size() == 2u);
}

BOOST_AUTO_TEST_CASE(large_payload_is_copied_exactly) {
    std::vector<std::uint8_t> payload(max_data_payload);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 31);
    auto const bytes = encode(make_header(msg_type::data, proto::tcp, 1, 1), payload);
    auto const parsed = parse(bytes);
    BOOST_REQUIRE(parsed);
    BOOST_TEST(std::equal(parsed->payload.begin(), parsed->payload.end(), payload.begin(), payload.end()));
}

BOOST_AUTO_TEST_SUITE_END()
