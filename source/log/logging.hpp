#pragma once
// Logging: one line per event, with timestamp, level, message and key=value fields (or one JSON
// object per line), on stderr or in a file rotated by size. A thin facade over Boost.Log: a
// severity logger whose records carry the fields as an attribute, and an asynchronous sink that
// a writer thread of its own drains, so that no I/O thread ever waits for a disk. Lines reach the
// log whole and in order; lines from several threads never interleave. Boost.Log's headers stay
// in logging.cpp: this header is included everywhere.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <ctime>
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

// A field's name: a string literal (it is kept as it is until the line is written, later, on the
// writer thread; consteval makes anything else a compile error).
class log_key {
public:
    consteval log_key(char const* text) : text_(text) {}
    std::string_view text() const { return text_; }

private:
    std::string_view text_;
};

// One key=value pair of a log line. Numbers stay numbers in JSON.
class log_field {
public:
    template <std::integral T>
    log_field(log_key key, T value) : key_(key.text()), text_(std::to_string(value)), is_number_(true) {}
    log_field(log_key key, std::string_view value) : key_(key.text()), text_(value) {}
    log_field(log_key key, char const* value) : key_(key.text()), text_(value) {}
    log_field(log_key key, std::string const& value) : key_(key.text()), text_(value) {}

    std::string_view key() const { return key_; }
    std::string_view text() const { return text_; }
    bool is_number() const { return is_number_; }

private:
    std::string_view key_;  // a literal's
    std::string text_;      // owned: the line is formatted later, on the writer thread
    bool is_number_ = false;
};

// Sends the log to stderr with these settings (again: new settings, same destination).
void init_logging(log_level level, log_format format);

// Where the log goes instead of stderr: a file rotated by size. When the file reaches max_size it
// is renamed PATH.N (N counts up) and a new one started; the newest max_files - 1 of those are
// kept.
struct log_file_options {
    std::string path;
    std::uintmax_t max_size = 10 * 1024 * 1024;
    unsigned max_files = 3;  // the current file included
};
// Sends the log to the file from now on. Returns an error (one line) if it cannot be opened.
std::string log_to_file(log_file_options const& options);
// SIGHUP: the file is opened again by its name (after logrotate moved it away). Returns at once.
void reopen_log_file();

// How long an info line may wait for the lines after it (they are written together); warn and
// error lines are written at once, with whatever waited before them.
inline constexpr std::chrono::milliseconds log_batch_delay{5};
// The most lines waiting for the writer; beyond it, lines are dropped (counted, and reported in
// the log once there is room): an I/O thread never waits for the log.
inline constexpr std::size_t log_queue_lines = 4096;

// Waits until every line logged so far is written (or dropped).
void flush_log();
// At exit: writes what waits and ends the writer thread; later lines are written at once.
void stop_logging();
// Lines dropped so far because the writer fell behind or the file could not be written.
std::uint64_t log_lines_dropped();

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

}  // namespace tunnel
