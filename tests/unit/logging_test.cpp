#include "log/logging.hpp"

#include <boost/test/unit_test.hpp>

using namespace tunnel;

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(levels_parse_case_insensitively) {
    BOOST_TEST((parse_log_level("INFO") == log_level::info));
    BOOST_TEST((parse_log_level("warning") == log_level::warn));
    BOOST_TEST((parse_log_level("Trace") == log_level::trace));
    BOOST_TEST(!parse_log_level("verbose"));
    BOOST_TEST((parse_log_format("JSON") == log_format::json));
    BOOST_TEST(!parse_log_format("yaml"));
}

BOOST_AUTO_TEST_CASE(text_fields_are_key_value) {
    std::uint32_t const id = 7;
    auto const s =
        render_fields(log_format::text, {{"client_id", id}, {"port", 8080}, {"reason", "refused here"}});
    BOOST_TEST(s == " client_id=7 port=8080 reason=\"refused here\"");
}

BOOST_AUTO_TEST_CASE(json_fields_keep_numbers_and_escape_strings) {
    auto const s = render_fields(log_format::json, {{"bytes", 42}, {"reason", "a \"b\"\n"}});
    BOOST_TEST(s == ",\"bytes\":42,\"reason\":\"a \\\"b\\\"\\n\"");
    BOOST_TEST(json_escape(std::string("\x01", 1)) == "\\u0001");
}

BOOST_AUTO_TEST_CASE(level_filter) {
    init_logging(log_level::warn, log_format::text);
    BOOST_TEST(!log_enabled(log_level::info));
    BOOST_TEST(log_enabled(log_level::error));
    init_logging(log_level::off, log_format::text);
    BOOST_TEST(!log_enabled(log_level::error));
    init_logging(log_level::info, log_format::text);
}

BOOST_AUTO_TEST_SUITE_END()
