#include "log/line_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace tunnel {

namespace {

// Each level's name, and its column in the text format (upper case, padded to 5), by enum value.
constexpr std::array<std::string_view, 6> level_names{"trace", "debug", "info", "warn", "error", "off"};
constexpr std::array<std::string_view, 6> level_columns{"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "OFF  "};
static_assert(static_cast<std::size_t>(log_level::off) + 1 == level_names.size());

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The date and time up to the second are formatted once a second (per thread).
void append_timestamp(std::string& line, timespec const& now) {
    thread_local std::time_t cached_second = -1;
    thread_local char cached[24] = {};
    thread_local std::size_t cached_size = 0;
    if (now.tv_sec != cached_second) {
        std::tm utc{};
        ::gmtime_r(&now.tv_sec, &utc);
        int const n =
            std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900,
                          utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
        cached_size = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof cached - 1) : 0;
        cached_second = now.tv_sec;
    }
    line.append(cached, cached_size);
    char micros[9] = {'.', '0', '0', '0', '0', '0', '0', 'Z', 0};
    for (long us = now.tv_nsec / 1000, i = 6; i >= 1; --i, us /= 10) micros[i] = static_cast<char>('0' + us % 10);
    line.append(micros, 8);
}

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : text) {
        auto const c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += ch;
                }
        }
    }
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
    return false;
}

void append_fields(std::string& out, log_format format, std::span<log_field const> fields) {
    for (auto const& f : fields) {
        if (format == log_format::json) {
            out += ",\"";
            append_json_escaped(out, f.key());
            out += "\":";
            if (f.is_number()) {
                out += f.text();
            } else {
                out += '"';
                append_json_escaped(out, f.text());
                out += '"';
            }
        } else {
            out += ' ';
            out += f.key();
            out += '=';
            if (!f.is_number() && needs_quotes(f.text())) {
                // Control characters become spaces: a value never breaks the line.
                out += '"';
                for (char c : f.text()) {
                    if (c == '"' || c == '\\') out += '\\';
                    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
                }
                out += '"';
            } else {
                out += f.text();
            }
        }
    }
}

}  // namespace

std::optional<log_level> parse_log_level(std::string_view text) {
    auto const l = lower(text);
    if (l == "trace") return log_level::trace;
    if (l == "debug") return log_level::debug;
    if (l == "info") return log_level::info;
    if (l == "warn" || l == "warning") return log_level::warn;
    if (l == "error") return log_level::error;
    if (l == "off") return log_level::off;
    return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view text) {
    auto const l = lower(text);
    if (l == "text") return log_format::text;
    if (l == "json") return log_format::json;
    return std::nullopt;
}

std::string_view log_level_name(log_level level) { return level_names.at(static_cast<std::size_t>(level)); }

void append_line(std::string& out, log_format format, log_line const& line) {
    if (format == log_format::json) {
        out += "{\"ts\":\"";
        append_timestamp(out, line.time);
        out += "\",\"level\":\"";
        out += log_level_name(line.level);
        out += "\",\"msg\":\"";
        append_json_escaped(out, line.message);
        out += '"';
        append_fields(out, format, line.fields);
        out += '}';
    } else {
        append_timestamp(out, line.time);
        out += ' ';
        out += level_columns.at(static_cast<std::size_t>(line.level));
        out += ' ';
        out += line.message;
        append_fields(out, format, line.fields);
    }
}

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_json_escaped(out, text);
    return out;
}

std::string render_fields(log_format format, std::initializer_list<log_field> fields) {
    std::string out;
    append_fields(out, format, std::span<log_field const>(fields.begin(), fields.size()));
    return out;
}

std::string format_timestamp(timespec const& time) {
    std::string out;
    append_timestamp(out, time);
    return out;
}

}  // namespace tunnel
