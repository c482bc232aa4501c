// The log line's formats, and the Boost.Log pipeline behind the facade: levels, order, whole
// lines from several threads, the writer's batches.

#include "log/logging.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "log/line_format.hpp"
#include "file_text.hpp"
#include "temp_dir.hpp"

using namespace tunnel;
using tunnel::test::read_all;

namespace {
std::vector<std::string> lines_of(std::string const& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}
// The timestamp form, made independently of the logger.
std::string iso_utc(timespec const& t) {
    std::tm utc{};
    ::gmtime_r(&t.tv_sec, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(t.tv_nsec / 1000));
    return text;
}
std::string now_iso() {
    timespec t{};
    ::clock_gettime(CLOCK_REALTIME, &t);
    return iso_utc(t);
}
}  // namespace

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
    auto const s = render_fields(log_format::text, {{"client_id", id}, {"port", 8080}, {"reason", "refused here"}});
    BOOST_TEST(s == " client_id=7 port=8080 reason=\"refused here\"");
    // A value never breaks the line: quotes and backslashes escaped, control characters blanked.
    BOOST_TEST(render_fields(log_format::text, {{"r", "a\"b\\c\nd"}}) == " r=\"a\\\"b\\\\c d\"");
    BOOST_TEST(render_fields(log_format::text, {{"empty", ""}}) == " empty=\"\"");
}

BOOST_AUTO_TEST_CASE(json_fields_keep_numbers_and_escape_strings) {
    auto const s = render_fields(log_format::json, {{"bytes", 42}, {"reason", "a \"b\"\n"}});
    BOOST_TEST(s == ",\"bytes\":42,\"reason\":\"a \\\"b\\\"\\n\"");
    BOOST_TEST(json_escape(std::string("\x01", 1)) == "\\u0001");
    BOOST_TEST(json_escape("tab\there\\") == "tab\\there\\\\");
}

BOOST_AUTO_TEST_CASE(whole_lines_in_both_formats) {
    log_field const fields[] = {{"client_id", 3}, {"reason", "x y"}};
    std::string text;
    append_line(text, log_format::text, {{1709251199, 999999000}, log_level::warn, "closed", fields});
    BOOST_TEST(text == "2024-02-29T23:59:59.999999Z WARN  closed client_id=3 reason=\"x y\"");
    std::string json;
    append_line(json, log_format::json, {{1709251199, 999999000}, log_level::info, "say \"hi\"", fields});
    BOOST_TEST(json ==
               "{\"ts\":\"2024-02-29T23:59:59.999999Z\",\"level\":\"info\",\"msg\":\"say \\\"hi\\\"\","
               "\"client_id\":3,\"reason\":\"x y\"}");
}

BOOST_AUTO_TEST_CASE(level_filter) {
    init_logging(log_level::warn, log_format::text);
    BOOST_TEST(!log_enabled(log_level::info));
    BOOST_TEST(log_enabled(log_level::error));
    init_logging(log_level::off, log_format::text);
    BOOST_TEST(!log_enabled(log_level::error));
    init_logging(log_level::info, log_format::text);
    BOOST_TEST(log_enabled(log_level::info));
}

BOOST_AUTO_TEST_CASE(timestamps_are_utc_iso_8601_with_microseconds) {
    // In this order, the date part kept from one call to the next must be refreshed when the
    // second changes, either way, and kept within one.
    std::vector<timespec> const times{{1795000000, 1000},      {1795000000, 999999999}, {1795000001, 0},
                                      {1795000000, 500000000}, {1709251199, 999999000}, {1709251200, 7000},
                                      {0, 0},                  {4102444800, 123456000}};
    for (auto const& t : times) BOOST_TEST(format_timestamp(t) == iso_utc(t));
    BOOST_TEST(format_timestamp({1709251199, 999999000}) == "2024-02-29T23:59:59.999999Z");
}

// (From here on this executable logs to files; no test reads stderr.)
BOOST_AUTO_TEST_CASE(lines_carry_the_current_time_and_reach_the_file_in_order) {
    tunnel::test::temp_dir dir("tunnel-logging");
    std::string const path = dir.path() + "/t.log";
    BOOST_REQUIRE(log_to_file({path, 10 * 1024 * 1024, 3}).empty());
    init_logging(log_level::info, log_format::text);
    auto const before = now_iso();
    log_info("one");
    log_debug("not at info");
    log_info("two", {{"n", 2}});
    log_warn("three");
    flush_log();
    auto const after = now_iso();
    auto const lines = lines_of(read_all(path));
    BOOST_REQUIRE_EQUAL(lines.size(), 3u);
    BOOST_TEST(lines[0].substr(0, 27) >= before);  // ISO strings order as the times do
    BOOST_TEST(lines[2].substr(0, 27) <= after);
    BOOST_TEST(lines[0].substr(27) == " INFO  one");
    BOOST_TEST(lines[1].substr(27) == " INFO  two n=2");
    BOOST_TEST(lines[2].substr(27) == " WARN  three");
}

BOOST_AUTO_TEST_CASE(json_lines_are_one_object_each) {
    tunnel::test::temp_dir dir("tunnel-logging");
    std::string const path = dir.path() + "/t.log";
    BOOST_REQUIRE(log_to_file({path, 10 * 1024 * 1024, 3}).empty());
    init_logging(log_level::debug, log_format::json);
    log_debug("opened", {{"client_id", 9}, {"reason", "line\nbreak \"quoted\""}});
    flush_log();
    init_logging(log_level::info, log_format::text);
    auto const lines = lines_of(read_all(path));
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    auto const v = boost::json::parse(lines[0]).as_object();
    BOOST_TEST(v.at("level").as_string() == "debug");
    BOOST_TEST(v.at("msg").as_string() == "opened");
    BOOST_TEST(v.at("client_id").as_int64() == 9);
    BOOST_TEST(v.at("reason").as_string() == "line\nbreak \"quoted\"");
    BOOST_TEST(v.at("ts").as_string().size() == 27u);
}

BOOST_AUTO_TEST_CASE(lines_from_several_threads_never_interleave) {
    tunnel::test::temp_dir dir("tunnel-logging");
    std::string const path = dir.path() + "/t.log";
    BOOST_REQUIRE(log_to_file({path, 64 * 1024 * 1024, 3}).empty());
    init_logging(log_level::info, log_format::json);
    auto const dropped_before = log_lines_dropped();
    constexpr int threads = 4;
    constexpr int each = 500;  // 2000 lines: less than the queue holds, so none may be dropped
    std::string const filler(300, 'x');
    std::vector<std::thread> loggers;
    for (int t = 0; t < threads; ++t)
        loggers.emplace_back([t, &filler] {
            for (int i = 0; i < each; ++i) log_info("from a thread", {{"thread", t}, {"i", i}, {"filler", filler}});
        });
    for (auto& l : loggers) l.join();
    flush_log();
    init_logging(log_level::info, log_format::text);
    auto const lines = lines_of(read_all(path));
    BOOST_TEST(log_lines_dropped() == dropped_before);
    BOOST_REQUIRE_EQUAL(lines.size(), static_cast<std::size_t>(threads * each));
    std::vector<int> next(threads, 0);
    for (auto const& line : lines) {
        boost::system::error_code ec;
        auto const parsed = boost::json::parse(line, ec);  // a whole object, nothing of another line
        BOOST_REQUIRE_MESSAGE(!ec && parsed.is_object(), "not one JSON object: " << line);
        auto const& v = parsed.as_object();
        auto const t = static_cast<int>(v.at("thread").as_int64());
        BOOST_TEST(v.at("i").as_int64() == next[t]);  // each thread's lines in its order
        ++next[t];
        BOOST_TEST(v.at("filler").as_string() == filler);
    }
}

BOOST_AUTO_TEST_SUITE_END()
