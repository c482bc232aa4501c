#include "log/logging.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <variant>

#include "log/rotating_file.hpp"

namespace tunnel {

namespace {

std::atomic<log_level> current_level{log_level::info};
std::atomic<log_format> current_format{log_format::text};

// Where lines go: stderr until log_to_file, then the file (replaced on reopen). Never destroyed:
// lines may still come while static objects are torn down at exit.
struct log_output {
    std::mutex mutex;
    std::unique_ptr<rotating_file> file;
    std::optional<log_file_options> file_options;
    // While deferral is on: the lines not written yet, and whether a flush is on its way.
    std::function<void()> schedule_flush;
    std::string waiting;
    bool flush_scheduled = false;
};
log_output& output() {
    static auto* const instance = new log_output;
    return *instance;
}
// Lines wait in output().waiting (read without the lock: a hint, checked again under it).
std::atomic<bool> lines_waiting{false};

// The most that waits: a long burst of lines goes out in writes of about this size.
constexpr std::size_t max_waiting = 16 * 1024;

void write_out(log_output& out, std::string_view lines) {  // with out.mutex held
    if (out.file)
        out.file->write(lines);
    else
        write_whole(STDERR_FILENO, lines);  // lines stderr refuses are lost, as with std::cerr
}

void write_waiting(log_output& out) {  // with out.mutex held
    out.flush_scheduled = false;       // the next line asks for a flush of its own (one more is harmless)
    if (out.waiting.empty()) return;
    write_out(out, out.waiting);
    out.waiting.clear();
    lines_waiting.store(false, std::memory_order_release);
}

// UTC, ISO 8601 with microseconds: 2026-11-27T12:13:40.123456Z. The date and time up to the
// second are formatted once a second (per thread).
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
    for (long us = now.tv_nsec / 1000, i = 6; i >= 1; --i, us /= 10)
        micros[i] = static_cast<char>('0' + us % 10);
    line.append(micros, 8);
}

// Each level's name, and its column in the text format (upper case, padded to 5), by enum value.
constexpr std::array<std::string_view, 6> level_names{"trace", "debug", "info", "warn", "error", "off"};
constexpr std::array<std::string_view, 6> level_columns{"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "OFF  "};
static_assert(static_cast<std::size_t>(log_level::off) + 1 == level_names.size());

std::string_view level_column(log_level level) { return level_columns.at(static_cast<std::size_t>(level)); }

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
    return false;
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

namespace {

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : text) {
        auto const c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
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

void append_fields(std::string& out, log_format format, std::initializer_list<log_field> fields) {
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

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_json_escaped(out, text);
    return out;
}

std::string render_fields(log_format format, std::initializer_list<log_field> fields) {
    std::string out;
    append_fields(out, format, fields);
    return out;
}

std::string format_timestamp(timespec const& time) {
    std::string out;
    append_timestamp(out, time);
    return out;
}

void init_logging(log_level level, log_format format) {
    current_level = level;
    current_format = format;
}

std::string log_to_file(log_file_options const& options) {
    auto opened = rotating_file::open(options);
    if (auto const* error = std::get_if<std::string>(&opened)) return *error;
    auto& out = output();
    std::lock_guard lock(out.mutex);
    write_waiting(out);
    out.file = std::get<0>(std::move(opened));
    out.file_options = options;
    return {};
}

void reopen_log_file() {
    auto& out = output();
    std::lock_guard lock(out.mutex);
    if (!out.file_options) return;
    auto opened = rotating_file::open(*out.file_options);
    if (std::holds_alternative<std::string>(opened)) return;  // keep writing where we were
    write_waiting(out);  // the lines from before the reopen end the old file
    out.file = std::get<0>(std::move(opened));
}

bool log_enabled(log_level level) {
    auto const current = current_level.load(std::memory_order_relaxed);
    return current != log_level::off && level >= current;
}

void log_write(log_level level, std::string_view message, std::initializer_list<log_field> fields) {
    auto const format = current_format.load(std::memory_order_relaxed);
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::string line;  // (not thread_local: lines may come from destructors at exit, after those)
    line.reserve(160);
    if (format == log_format::json) {
        line += "{\"ts\":\"";
        append_timestamp(line, now);
        line += "\",\"level\":\"";
        line += log_level_name(level);
        line += "\",\"msg\":\"";
        append_json_escaped(line, message);
        line += '"';
        append_fields(line, format, fields);
        line += '}';
    } else {
        append_timestamp(line, now);
        line += ' ';
        line += level_column(level);
        line += ' ';
        line += message;
        append_fields(line, format, fields);
    }
    line += '\n';
    auto& out = output();
    std::unique_lock lock(out.mutex);
    if (!out.schedule_flush || level >= log_level::warn) {
        write_waiting(out);  // what came before goes first
        write_out(out, line);
        return;
    }
    if (out.waiting.size() + line.size() > max_waiting) write_waiting(out);
    out.waiting += line;
    lines_waiting.store(true, std::memory_order_release);
    if (out.flush_scheduled) return;
    out.flush_scheduled = true;
    auto const schedule = out.schedule_flush;
    lock.unlock();
    schedule();
}

void defer_log_writes(std::function<void()> schedule_flush) {
    auto& out = output();
    std::lock_guard lock(out.mutex);
    write_waiting(out);  // (which also clears flush_scheduled)
    out.schedule_flush = std::move(schedule_flush);
}

void write_log_lines_at_once() { defer_log_writes(nullptr); }

void flush_log() {
    if (!lines_waiting.load(std::memory_order_acquire)) return;
    auto& out = output();
    std::lock_guard lock(out.mutex);
    write_waiting(out);
}

}  // namespace tunnel
