#include "log/logging.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "temp_dir.hpp"

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

namespace {
std::string read_all(std::string const& path) {
    std::ifstream in(path);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}
std::size_t count_of(std::string const& text, std::string const& word) {
    std::size_t n = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
}
}  // namespace

// (The rest of this executable then logs to this file; no other test reads stderr.)
BOOST_AUTO_TEST_CASE(deferred_lines_wait_for_a_flush_and_warnings_take_them_along) {
    tunnel::test::temp_dir dir("tunnel-logging");
    std::string const path = dir.path() + "/t.log";
    BOOST_REQUIRE(log_to_file({path, 10 * 1024 * 1024, 3}).empty());
    init_logging(log_level::info, log_format::text);
    int scheduled = 0;
    defer_log_writes([&] { ++scheduled; });

    log_info("first", {{"n", 1}});
    log_info("second", {{"n", 2}});
    BOOST_TEST(read_all(path).empty());  // waiting
    BOOST_TEST(scheduled == 1);          // one flush asked for both
    flush_log();
    auto text = read_all(path);
    BOOST_TEST(count_of(text, "INFO  first n=1\n") == 1u);
    BOOST_TEST(text.find("first") < text.find("second"));

    log_info("third");
    BOOST_TEST(scheduled == 2);  // a new waiting period asks again
    log_warn("a warning");       // at once, after the line that waited
    text = read_all(path);
    BOOST_TEST(text.find("third") < text.find("a warning"));
    BOOST_TEST(count_of(text, "\n") == 4u);

    // Never more than 16 KiB waits: a long run of lines is written as it grows.
    for (int i = 0; i < 1000; ++i) log_info("filler line of a busy client", {{"i", i}});
    auto const before_flush = read_all(path).size();
    BOOST_TEST(before_flush > 16u * 1024);
    flush_log();
    BOOST_TEST(read_all(path).size() - before_flush <= 16u * 1024);
    BOOST_TEST(count_of(read_all(path), "filler line") == 1000u);

    log_info("last");
    write_log_lines_at_once();  // ends the deferral with what waits written
    BOOST_TEST(count_of(read_all(path), "INFO  last\n") == 1u);
    log_info("after");
    BOOST_TEST(count_of(read_all(path), "INFO  after\n") == 1u);
    BOOST_TEST(scheduled >= 3);
}

namespace {
// The timestamp form, made independently of the logger.
std::string iso_utc(timespec const& t) {
    std::tm utc{};
    ::gmtime_r(&t.tv_sec, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<long>(t.tv_nsec / 1000));
    return text;
}
}  // namespace

BOOST_AUTO_TEST_CASE(timestamps_are_utc_iso_8601_with_microseconds) {
    // In this order, the date part kept from one call to the next must be refreshed when the
    // second changes, either way, and kept within one.
    std::vector<timespec> const times{
        {1795000000, 1000},      {1795000000, 999999999}, {1795000001, 0}, {1795000000, 500000000},
        {1709251199, 999999000}, {1709251200, 7000},      {0, 0},          {4102444800, 123456000}};
    for (auto const& t : times) BOOST_TEST(format_timestamp(t) == iso_utc(t));
    BOOST_TEST(format_timestamp({1709251199, 999999000}) == "2024-02-29T23:59:59.999999Z");
}

BOOST_AUTO_TEST_CASE(lines_carry_the_current_time) {
    tunnel::test::temp_dir dir("tunnel-logging");
    std::string const path = dir.path() + "/t.log";
    BOOST_REQUIRE(log_to_file({path, 10 * 1024 * 1024, 3}).empty());
    auto const now = [] {
        timespec t{};
        ::clock_gettime(CLOCK_REALTIME, &t);
        return iso_utc(t);
    };
    auto const before = now();
    log_info("one");
    auto const after = now();
    auto const line = read_all(path);
    BOOST_REQUIRE(line.size() > 28u);
    BOOST_TEST(line.substr(0, 27) >= before);  // ISO strings order as the times do
    BOOST_TEST(line.substr(0, 27) <= after);
    BOOST_TEST(line.substr(27) == " INFO  one\n");
}

BOOST_AUTO_TEST_SUITE_END()
