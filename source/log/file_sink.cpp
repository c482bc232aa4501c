#include "log/file_sink.hpp"

#include <unistd.h>

#include <boost/log/keywords/auto_flush.hpp>
#include <boost/make_shared.hpp>
#include <boost/log/keywords/enable_final_rotation.hpp>
#include <boost/log/keywords/file_name.hpp>
#include <boost/log/keywords/max_files.hpp>
#include <boost/log/keywords/open_mode.hpp>
#include <boost/log/keywords/rotation_size.hpp>
#include <boost/log/keywords/target.hpp>
#include <boost/log/keywords/target_file_name.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>

#include "log/line_format.hpp"

namespace tunnel {

namespace sinks = boost::log::sinks;
namespace keywords = boost::log::keywords;
namespace fs = std::filesystem;

namespace {

// A notice for stderr, written at once: the log file is the thing that is not working.
void tell_stderr(std::string const& text) {
    std::string const line = "tunnel-client: " + text + "\n";
    for (std::size_t done = 0; done < line.size();) {
        auto const n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nowhere else to say it
        done += static_cast<std::size_t>(n);
    }
}

std::string absolute(std::string const& path) {
    std::error_code ec;
    auto const made = fs::absolute(path, ec);
    return ec ? path : made.string();
}

// The next free number N for PATH.N: one more than the highest in the directory (0 when none).
// (Read here, not from Boost.Log's collector: its scan reports only files it has not seen yet,
// and a collector is shared by every sink of a directory for the life of the process.)
unsigned next_rotated_number(std::string const& path) {
    auto const base = fs::path(path).filename().string() + ".";
    unsigned next = 0;
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator(fs::path(path).parent_path(), ec)) {
        auto const name = entry.path().filename().string();
        if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0) continue;
        auto const digits = name.substr(base.size());
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        next = std::max(next, static_cast<unsigned>(std::stoul(digits)) + 1);
    }
    return next;
}

}  // namespace

log_file_backend::log_file_backend(log_file_options options, log_format format)
    : options_(std::move(options)), format_(format) {
    options_.path = absolute(options_.path);
}

bool log_file_backend::open() {
    // Made once, for the life of the sink: its file counter must go on (a new one would count
    // from 0 again and replace PATH.0).
    stream_ = nullptr;
    try {
        auto const dir = fs::path(options_.path).parent_path();
        auto const rotated = options_.path + ".%N";
        // Rotated files are PATH.N; the collector keeps the newest max_files - 1 of them.
        auto collector = sinks::file::make_collector(keywords::target = dir.string(),
                                                     keywords::max_files = options_.max_files - 1);
        // Boost.Log 1.81 gives a file it appends to the number of the newest rotated file, and
        // replaces that file when it rotates (checked: with PATH.7 and PATH left by an earlier
        // run, the old PATH.7 is lost). A file left at the path is therefore rotated here first,
        // under the next number, and the new one starts empty.
        std::string moved;
        std::error_code ec;
        if (fs::file_size(options_.path, ec) > 0 && !ec) {
            moved = options_.path + "." + std::to_string(next_rotated_number(options_.path));
            fs::rename(options_.path, moved);
        }
        auto file = boost::make_shared<sinks::text_file_backend>(
            keywords::file_name = options_.path, keywords::target_file_name = rotated,
            keywords::open_mode = std::ios_base::out | std::ios_base::app,
            keywords::rotation_size = options_.max_size,
            // Each line leaves at once: a write that fails is then this line's, and is cut back.
            keywords::auto_flush = true, keywords::enable_final_rotation = false);
        file->set_file_collector(collector);
        file->scan_for_files(sinks::file::scan_matching, true);  // numbering goes on from there
        // ...and the file rotated above counts among the kept ones: the oldest go, as usual.
        if (!moved.empty()) collector->store_file(moved);
        file->set_open_handler([this](std::ostream& stream) {
            stream_ = &stream;
            auto const at = stream.tellp();
            opened_size_ = at < 0 ? 0 : static_cast<std::uintmax_t>(at);
            just_opened_ = true;
        });
        file_ = std::move(file);
        return true;
    } catch (std::exception const& e) {
        fail("cannot be opened", e.what());
        return false;
    }
}

bool log_file_backend::write(boost::log::record_view const& record, std::string_view line) {
    just_opened_ = false;
    auto const before = good_size_;
    std::string const text(line);
    errno = 0;
    try {
        if (text.size() + 1 < options_.max_size) {
            file_->consume(record, text);  // rotates first when this line would pass max_size
        } else {
            // Boost.Log 1.81 rotates a new, empty file again and again, without end, for a line
            // at least rotation_size long (fixed in later versions: "Don't rotate the empty log
            // file if the message size exceeds rotation_size"). Such a line gets a file of its
            // own, with the limit lifted while it is written; the next line rotates it.
            if (good_size_ > 0 && !file_->get_current_file_name().empty()) file_->rotate_file();
            file_->set_rotation_size(std::numeric_limits<std::uintmax_t>::max());
            file_->consume(record, text);
            file_->set_rotation_size(options_.max_size);
        }
    } catch (std::exception const& e) {
        fail("cannot be rotated or opened", e.what());
        return false;
    }
    auto const start = just_opened_ ? opened_size_ : before;
    if (stream_ == nullptr || !stream_->good()) {
        int const error = errno;
        auto const name = file_->get_current_file_name().string();
        // The file is let go, cut back to its last whole line (it may have taken part of this
        // one). Closing it writes what the stream still buffers, so it is closed first, under a
        // name of its own (the backend then only closes it, nothing to rotate), then cut, then
        // put back (or removed, when nothing is left).
        std::error_code ec;
        auto const aside = name + ".failed";
        if (!name.empty()) fs::rename(name, aside, ec);
        close_file();
        if (!name.empty() && !ec) {
            std::error_code ignored;
            fs::resize_file(aside, start, ignored);
            if (start == 0)
                fs::remove(aside, ignored);
            else
                fs::rename(aside, name, ignored);
        }
        fail("cannot be written", error != 0 ? std::strerror(error) : "write failed");
        return false;
    }
    good_size_ = start + text.size() + 1;  // the backend adds the newline
    return true;
}

void log_file_backend::consume(boost::log::record_view const& record, string_type const& line) {
    if (failing_ && std::chrono::steady_clock::now() < retry_at_) return drop();
    if (!file_ && !open()) return drop();
    if (failing_) {
        // Working again: the file says what it missed before it goes on.
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME, &now);
        log_field const fields[] = {{"dropped", dropped_since_failure_}};
        std::string notice;
        append_line(notice, format_, {now, log_level::warn, "log lines dropped: the log file could not be written", fields});
        if (!write(record, notice)) return drop();
        tell_stderr("log file " + options_.path + " is written again (" + std::to_string(dropped_since_failure_) +
                    " lines were dropped)");
        failing_ = false;
        dropped_since_failure_ = 0;
    }
    if (!write(record, line)) drop();
}

void log_file_backend::drop() {
    ++dropped_since_failure_;
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
}

void log_file_backend::close_file() {
    stream_ = nullptr;
    good_size_ = 0;
    if (!file_) return;
    try {
        file_->rotate_file();  // closes it; a file still at its path is rotated (moved away: only closed)
    } catch (std::exception const&) {
        // (cannot be rotated: closed all the same; the next line says so if it matters)
    }
}

void log_file_backend::fail(std::string_view what, std::string const& reason) {
    retry_at_ = std::chrono::steady_clock::now() + retry_after;
    if (failing_) return;  // said once already
    failing_ = true;
    tell_stderr("log file " + options_.path + " " + std::string(what) + ": " + reason +
                "; log lines are dropped until it can be written again (tried every " +
                std::to_string(retry_after.count()) + " s, and on SIGHUP)");
}

void log_file_backend::flush() {
    if (file_) file_->flush();
}

void log_file_backend::release() {
    file_.reset();  // (no final rotation: enable_final_rotation is off)
    stream_ = nullptr;
}

void log_file_backend::reopen() {
    // Closes the file we had, wherever it has been moved (logrotate): the next line opens the path
    // again. A file still at the path is rotated, under the next number.
    close_file();
    retry_at_ = {};
}

}  // namespace tunnel
