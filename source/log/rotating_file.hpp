#pragma once
// A log file rotated by size: the current file keeps its name; a full one is renamed PATH.N (N
// counts up from the highest already there) and only the newest max_files - 1 of those are kept.
// What it is given goes out in one write(2) on an O_APPEND descriptor, cut only at a line end where
// the file rotates part way through; a line is never split.

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "log/logging.hpp"

namespace tunnel {

// Writes all of text to fd, again after EINTR or a short write. false when fd refuses (full, gone):
// the rest is dropped, since a log line is not worth blocking or failing for.
bool write_whole(int fd, std::string_view text);

class rotating_file {
public:
    // The file opened for appending, or why it cannot be (one line).
    static std::variant<std::unique_ptr<rotating_file>, std::string> open(log_file_options const& options);
    ~rotating_file();
    rotating_file(rotating_file const&) = delete;
    rotating_file& operator=(rotating_file const&) = delete;

    // Appends whole lines (each with its newline), rotating first whenever the next would take the
    // file past max_size.
    void write(std::string_view lines);

private:
    rotating_file(log_file_options options, int fd, std::uintmax_t size);
    void rotate();

    log_file_options options_;
    int fd_;
    std::uintmax_t size_;  // bytes in the current file
};

}  // namespace tunnel
