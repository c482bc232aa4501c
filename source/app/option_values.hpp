#pragma once
// The values of tunnel-client's options as types, each with its Program_options validator: the
// format and the range of a value are checked while it is stored, so that a bad one is refused
// naming the flag or the environment variable it came from.

#include <boost/any.hpp>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <chrono>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "log/logging.hpp"
#include "tunnel/port_policy.hpp"

namespace tunnel::app {

// "invalid value 'VALUE' for OPTION: WHY". Program_options names the option as it stores the value.
class invalid_value : public boost::program_options::error_with_option_name {
public:
    invalid_value(std::string const& value, std::string const& why);
};

// Seconds, decimals allowed ("0.25"), kept to the millisecond.
struct seconds_value {
    std::chrono::milliseconds value{};
};
struct positive_seconds {
    std::chrono::milliseconds value{};
};

inline constexpr unsigned long no_maximum = std::numeric_limits<unsigned long>::max();

// A whole number from Min to Max.
template <unsigned long Min, unsigned long Max = no_maximum>
struct whole_number {
    unsigned long value = Min;
};

// Bytes, with an optional K, M or G suffix (binary: 64K is 65536), at least Min.
template <std::size_t Min = 0>
struct byte_size {
    std::size_t value = Min;
};

// Local ports: "22,8000-8999".
struct port_list {
    std::vector<port_range> value;
};

// true/false, yes/no, on/off, 1/0 (any case); a bare flag on the command line is true.
struct switch_value {
    bool value = false;
};

struct level_value {
    log_level value = log_level::info;
};
struct format_value {
    log_format value = log_format::text;
};

// A file to write: not empty, and not a directory's name (ending in '/').
struct file_path {
    std::string value;
};

// The checks behind the templates below; each throws invalid_value.
unsigned long check_whole_number(std::string const& text, unsigned long min, unsigned long max);
std::size_t check_byte_size(std::string const& text, std::size_t min);
// A size as --help shows it: 65536 -> "64K", 4194304 -> "4M", 1000 -> "1000".
std::string size_text(std::size_t bytes);
// The single value given, refusing a second occurrence within one source.
std::string const& single_value(boost::any const& stored, std::vector<std::string> const& tokens);

// Found by argument-dependent lookup from Program_options' typed_value<T>.
void validate(boost::any& v, std::vector<std::string> const& tokens, seconds_value*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, positive_seconds*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, port_list*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, switch_value*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, level_value*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, format_value*, int);
void validate(boost::any& v, std::vector<std::string> const& tokens, file_path*, int);

template <unsigned long Min, unsigned long Max>
void validate(boost::any& v, std::vector<std::string> const& tokens, whole_number<Min, Max>*, int) {
    v = whole_number<Min, Max>{check_whole_number(single_value(v, tokens), Min, Max)};
}

template <std::size_t Min>
void validate(boost::any& v, std::vector<std::string> const& tokens, byte_size<Min>*, int) {
    v = byte_size<Min>{check_byte_size(single_value(v, tokens), Min)};
}

// T parsed from text by its own validator (a default value written as the user would write it).
template <class T>
T parse_value(std::string const& text) {
    boost::any stored;
    validate(stored, {text}, static_cast<T*>(nullptr), 0);
    return boost::any_cast<T>(stored);
}

}  // namespace tunnel::app
