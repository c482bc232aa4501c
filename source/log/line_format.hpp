#pragma once
// How one log line reads, in the text format (timestamp, level, message, key=value fields) and
// in JSON (one object per line). Pure: the Boost.Log formatters in logging.cpp render records
// with it, and the tests call it directly.

#include <ctime>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "log/logging.hpp"

namespace tunnel {

struct log_line {
    timespec time{};
    log_level level = log_level::info;
    std::string_view message;
    std::span<log_field const> fields;
};

// Appends the line, without its newline.
void append_line(std::string& out, log_format format, log_line const& line);

std::string render_fields(log_format format, std::initializer_list<log_field> fields);
std::string json_escape(std::string_view text);
// UTC, ISO 8601 with microseconds: 2026-11-27T12:13:40.123456Z.
std::string format_timestamp(timespec const& time);

}  // namespace tunnel
