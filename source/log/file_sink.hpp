#pragma once
// The log file's sink backend. Boost.Log's text_file_backend writes the file and rotates it (at
// max_size, renamed PATH.N, a file collector keeping the newest max_files - 1 of those, numbering
// that goes on after a restart); this backend wraps it with what it lacks, so that a log file
// never takes more disk than its cap and never leaves a line torn:
// - a write that fails part way (a full disk) is cut back to the last whole line;
// - a file that cannot be written, rotated or opened is reported once on stderr, and lines are
//   dropped (counted) until it can be again: retried every few seconds, and at once on reopen();
// - reopen() (SIGHUP) opens the file again by its name, after logrotate moved it away.
// Boost.Log calls it from one thread at a time (synchronized_feeding). Heavy: include only from
// logging.cpp and its tests.

#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "log/logging.hpp"

namespace tunnel {

class log_file_backend
    : public boost::log::sinks::basic_formatted_sink_backend<char, boost::log::sinks::synchronized_feeding> {
public:
    // How long a file that failed is left alone before the next line tries it again.
    static constexpr std::chrono::seconds retry_after{5};

    // Makes no file yet: the first line opens it. format: how the dropped-lines notice reads.
    log_file_backend(log_file_options options, log_format format);

    void consume(boost::log::record_view const& record, string_type const& line);
    void flush();
    // The next line opens the file again by its name (a failed one is tried again at once).
    void reopen();
    // The sink is done with (another file is used from now on): its file is closed as it is.
    void release();

    // Lines lost since the start because the file could not be written.
    std::uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }
    std::string const& path() const { return options_.path; }

private:
    bool open();
    void close_file();
    // Writes one line through the file backend; false (and the file let go) when that failed.
    bool write(boost::log::record_view const& record, std::string_view line);
    void fail(std::string_view what, std::string const& reason);
    void drop();

    log_file_options options_;  // the path made absolute: rotation must not follow a chdir
    log_format format_;
    boost::shared_ptr<boost::log::sinks::text_file_backend> file_;
    // Set by the file backend's open handler: the open file's stream and its size at opening.
    std::ostream* stream_ = nullptr;
    std::uintmax_t opened_size_ = 0;
    bool just_opened_ = false;
    std::uintmax_t good_size_ = 0;  // the current file's size after its last whole line
    bool failing_ = false;
    std::chrono::steady_clock::time_point retry_at_{};
    std::uint64_t dropped_since_failure_ = 0;
    std::atomic<std::uint64_t> dropped_total_{0};
};

}  // namespace tunnel
