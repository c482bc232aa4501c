#include "app/option_values.hpp"

#include <algorithm>
#include <boost/algorithm/string/case_conv.hpp>

#include "cli/parse.hpp"

namespace tunnel::app {

namespace po = boost::program_options;

namespace {
// The value as the error line shows it: on one line, whatever the environment held.
std::string one_line(std::string text) {
    std::replace_if(
        text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, '?');
    return text;
}
}  // namespace

invalid_value::invalid_value(std::string const& value, std::string const& why)
    : po::error_with_option_name("invalid value '%value%' for %canonical_option%: " + why) {
    set_substitute("value", one_line(value));
}

std::string const& single_value(boost::any const& stored, std::vector<std::string> const& tokens) {
    po::validators::check_first_occurrence(stored);
    return po::validators::get_single_string(tokens, true);
}

unsigned long check_whole_number(std::string const& text, unsigned long min, unsigned long max) {
    auto const n = cli::parse_count(text);
    if (n && *n >= min && *n <= max) return *n;
    if (max != no_maximum)
        throw invalid_value(
            text, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    if (min > 0) throw invalid_value(text, "expected a whole number of at least " + std::to_string(min));
    throw invalid_value(text, "expected a non-negative whole number");
}

std::string size_text(std::size_t bytes) {
    for (auto const& [unit, suffix] :
         {std::pair{std::size_t{1} << 30, "G"}, {std::size_t{1} << 20, "M"}, {std::size_t{1} << 10, "K"}})
        if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
    return std::to_string(bytes);
}

std::size_t check_byte_size(std::string const& text, std::size_t min) {
    auto const n = cli::parse_size(text);
    if (n && *n >= min) return *n;
    if (min > 0)
        throw invalid_value(text, "expected a size of at least " + size_text(min) + " (bytes, or K, M, G)");
    throw invalid_value(text, "expected a size in bytes, or with K, M or G");
}

void validate(boost::any& v, std::vector<std::string> const& tokens, seconds_value*, int) {
    auto const& text = single_value(v, tokens);
    auto const ms = cli::parse_seconds(text);
    if (!ms) throw invalid_value(text, "expected a non-negative number of seconds");
    v = seconds_value{*ms};
}

void validate(boost::any& v, std::vector<std::string> const& tokens, positive_seconds*, int) {
    auto const& text = single_value(v, tokens);
    auto const ms = cli::parse_seconds(text);
    if (!ms || ms->count() == 0) throw invalid_value(text, "expected a positive number of seconds");
    v = positive_seconds{*ms};
}

void validate(boost::any& v, std::vector<std::string> const& tokens, port_list*, int) {
    auto const& text = single_value(v, tokens);
    auto ranges = parse_port_list(text);
    if (auto const* error = std::get_if<std::string>(&ranges)) throw invalid_value(text, *error);
    v = port_list{std::get<std::vector<port_range>>(std::move(ranges))};
}

void validate(boost::any& v, std::vector<std::string> const& tokens, switch_value*, int) {
    auto const& text = single_value(v, tokens);
    auto const word = boost::algorithm::to_lower_copy(text);
    if (word == "1" || word == "true" || word == "yes" || word == "on") {
        v = switch_value{true};
    } else if (word == "0" || word == "false" || word == "no" || word == "off") {
        v = switch_value{false};
    } else {
        throw invalid_value(text, "expected true or false (or yes/no, on/off, 1/0)");
    }
}

void validate(boost::any& v, std::vector<std::string> const& tokens, level_value*, int) {
    auto const& text = single_value(v, tokens);
    auto const level = parse_log_level(text);
    if (!level) throw invalid_value(text, "expected trace, debug, info, warn, error or off");
    v = level_value{*level};
}

void validate(boost::any& v, std::vector<std::string> const& tokens, format_value*, int) {
    auto const& text = single_value(v, tokens);
    auto const format = parse_log_format(text);
    if (!format) throw invalid_value(text, "expected text or json");
    v = format_value{*format};
}

void validate(boost::any& v, std::vector<std::string> const& tokens, file_path*, int) {
    auto const& text = single_value(v, tokens);
    if (text.empty() || text.back() == '/') throw invalid_value(text, "expected a file path");
    v = file_path{text};
}

}  // namespace tunnel::app
