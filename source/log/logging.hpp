#pragma once
// Logging: one line per event on stderr (or a rotated file), with timestamp, level, message and
// key=value fields (or one JSON object per line). Lines reach the kernel whole, in one write(2)
// each or several together, so lines from several threads never interleave.

#include <concepts>
#include <cstdint>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tunnel {

enum class log_level { trace, debug, info, warn, error, off };
enum class log_format { text, json };

std::optional<log_level> parse_log_level(std::string_view text);
std::optional<log_format> parse_log_format(std::string_view text);
std::string_view log_level_name(log_level level);

// One key=value pair of a log line. Numbers stay numbers in JSON.
class log_field {
public:
    template <std::integral T>
    log_field(std::string_view key, T value) : key_(key), text_(std::to_string(value)), is_number_(true) {}
    log_field(std::string_view key, std::string_view value) : key_(key), text_(value) {}
    log_field(std::string_view key, char const* value) : key_(key), text_(value) {}
    log_field(std::string_view key, std::string const& value) : key_(key), text_(value) {}

    std::string_view key() const { return key_; }
    std::string_view text() const { return text_; }
    bool is_number() const { return is_number_; }

private:
    std::string_view key_;
    std::string text_;
    bool is_number_ = false;
};

// Installs the stderr sink. Safe to call again (replaces the settings).
void init_logging(log_level level, log_format format);

// Where the log goes instead of stderr: a file rotated by size (see rotating_file.hpp), each line
// written at once.
struct log_file_options {
    std::string path;
    std::uintmax_t max_size = 10 * 1024 * 1024;
    unsigned max_files = 3;  // the current file included
};
// Sends the log to the file from now on. Returns an error (one line) if it cannot be opened.
std::string log_to_file(log_file_options const& options);
// Closes and reopens the log file by its name (after an external rotation moved it away); SIGHUP.
void reopen_log_file();

// Deferral, for a busy client: info and lower lines wait in memory (16 KiB at most) until
// flush_log(), and go out together in one write. schedule_flush is called, outside any lock, when
// a line starts waiting and no flush is due yet; it must make flush_log() run soon (the client
// runs it a few milliseconds later). warn and error lines go out at once, after what waits.
void defer_log_writes(std::function<void()> schedule_flush);
// Writes what waits and ends the deferral: every line is written at once again.
void write_log_lines_at_once();
// Writes the lines that wait; cheap when none do.
void flush_log();

bool log_enabled(log_level level);
void log_write(log_level level, std::string_view message, std::initializer_list<log_field> fields);

inline void log(log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) {
    if (log_enabled(level)) log_write(level, message, fields);
}
inline void log_debug(std::string_view m, std::initializer_list<log_field> f = {}) {
    log(log_level::debug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<log_field> f = {}) {
    log(log_level::info, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<log_field> f = {}) {
    log(log_level::warn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<log_field> f = {}) {
    log(log_level::error, m, f);
}

// Exposed for tests: how a line's fields are rendered in each format.
std::string render_fields(log_format format, std::initializer_list<log_field> fields);
std::string json_escape(std::string_view text);
// A line's timestamp: UTC, ISO 8601 with microseconds (2026-11-27T12:13:40.123456Z).
std::string format_timestamp(timespec const& time);

}  // namespace tunnel
