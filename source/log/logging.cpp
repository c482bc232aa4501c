#include "log/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <boost/log/attributes/attribute_value_impl.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core/core.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/utility/formatting_ostream.hpp>
#include <boost/make_shared.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <mutex>
#include <thread>
#include <vector>

#include "log/file_sink.hpp"
#include "log/line_format.hpp"

namespace tunnel {

namespace logging = boost::log;
namespace sinks = boost::log::sinks;
namespace attrs = boost::log::attributes;

namespace {

// What one line says, as one attribute of its record: the time, the level, the message and the
// fields. (One attribute, not one each: every attribute a record carries is an allocation and a
// lookup by name.)
struct log_details {
    timespec time{};
    log_level level = log_level::info;
    std::string message;
    boost::container::small_vector<log_field, 4> fields;  // (a line has a few: no allocation of its own)
    bool reopen = false;  // not a line: SIGHUP asks the file to be opened again, here in the order
};

// The attribute's name, looked up once in Boost.Log's name table (under its lock): an attribute
// keyword, or a name made from a string, looks it up again at every use.
logging::attribute_name const& details_key() {
    static logging::attribute_name const name("Line");
    return name;
}

std::atomic<log_level> current_level{log_level::info};
std::atomic<log_format> current_format{log_format::text};
// Set at exit once the writer has stopped: Boost.Log's own statics go next, so a line logged
// after that (from a destructor) is written to stderr directly.
std::atomic<bool> after_exit{false};
std::atomic<std::uint64_t> queue_dropped{0};

using stderr_sink = sinks::synchronous_sink<sinks::text_ostream_backend>;
using file_sink = sinks::synchronous_sink<log_file_backend>;

// The Boost.Log formatter, for either format (runs on the writer thread).
void format_record(log_format format, logging::record_view const& record, logging::formatting_ostream& out) {
    thread_local std::string line;
    line.clear();
    auto const details = record.attribute_values()[details_key()].extract<log_details>();
    if (!details) return;
    append_line(line, format, {details->time, details->level, details->message, details->fields});
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

// The lines on their way to Boost.Log, and the thread that takes them there: a thread that logs
// only queues what the line says, and the writer makes the record and hands it to the sink, so
// that no I/O thread ever waits for a disk. A line waits at most log_batch_delay for the ones
// after it (a warning not at all), and they are written together. The queue holds
// log_queue_lines at most: a line that finds it full is dropped and counted (an I/O thread never
// waits), and the writer says how many in the log once it has caught up. Before start() and
// after stop(), each line is written by the thread that logs it.
//
// (Not Boost.Log's asynchronous_sink: its record, attribute set and queue lock cost the logging
// thread about 2,700 instructions a line (callgrind, 3,000 connection cycles) and the client 8% of
// its connection rate at --log-level info (5 alternating rounds, 0.92x of the previous logger);
// queuing the details costs that thread a few hundred.)
class log_writer {
public:
    // feed(lines): hands the lines to Boost.Log and writes them out (on the writer thread, or
    // inline when it does not run). Set once, before start().
    std::function<void(std::vector<log_details>&)> feed;

    void start() {
        std::lock_guard lock(mutex_);
        if (running_) return;
        running_ = true;
        stop_ = false;
        thread_ = std::thread([this] { run(); });
    }

    // A line (or a reopen) to write.
    void push(log_details details, bool urgent) {
        std::unique_lock lock(mutex_);
        if (!running_) {
            lock.unlock();
            std::lock_guard feeding(feed_mutex_);
            std::vector<log_details> one;
            one.push_back(std::move(details));
            feed(one);
            return;
        }
        if (queue_.size() >= log_queue_lines && !details.reopen) {
            queue_dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        bool const was_empty = queue_.empty();
        queue_.push_back(std::move(details));
        // One wake-up per batch: the writer is asleep only while nothing waits.
        if (was_empty || (urgent && !urgent_)) {
            urgent_ = urgent_ || urgent;
            cv_.notify_one();
        }
    }

    // Returns once every line queued before the call is written.
    void flush() {
        std::unique_lock lock(mutex_);
        if (!running_) return;  // (lines are written as they come)
        auto const ticket = ++asked_;
        urgent_ = true;
        cv_.notify_one();
        done_cv_.wait(lock, [&] { return done_ >= ticket || !running_; });
    }

    void stop() {
        std::unique_lock lock(mutex_);
        if (!running_) return;
        stop_ = true;
        cv_.notify_one();
        lock.unlock();
        thread_.join();
        lock.lock();
        running_ = false;
        done_cv_.notify_all();
    }

    // One feeder at a time, so that lines leave in the order they came (recursive: feeding may
    // log, when the writer has stopped and lines are written inline).
    std::recursive_mutex feed_mutex_;

private:
    void run() {
        std::vector<log_details> batch;
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return !queue_.empty() || urgent_ || stop_; });
            if (!urgent_ && !stop_) cv_.wait_for(lock, log_batch_delay, [&] { return urgent_ || stop_; });
            bool const stopping = stop_;
            auto const ticket = asked_;
            urgent_ = false;
            batch.swap(queue_);
            lock.unlock();
            {
                std::lock_guard feeding(feed_mutex_);
                feed(batch);
            }
            batch.clear();
            lock.lock();
            done_ = ticket;
            done_cv_.notify_all();
            if (stopping && queue_.empty()) return;
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable done_cv_;
    std::vector<log_details> queue_;
    bool running_ = false;
    bool urgent_ = false;
    bool stop_ = false;
    std::uint64_t asked_ = 0;
    std::uint64_t done_ = 0;
    std::thread thread_;
};

// Everything above, made once and never destroyed: lines may come while statics are torn down.
struct logging_state {
    std::mutex mutex;
    log_format format = log_format::text;
    boost::shared_ptr<sinks::sink> sink;  // the one sink in the core
    boost::shared_ptr<stderr_sink> to_stderr;
    boost::shared_ptr<file_sink> to_file;
    logging::sources::severity_logger<log_level> logger;  // the writer's (under feed_mutex_)
    log_writer writer;
    std::uint64_t reported_drops = 0;
    // Sinks taken out of the core are kept: a sink's formatter is cached per thread under the
    // sink's address (boost::thread_specific_ptr), so a new sink made at a freed one's address
    // would format with the old sink's formatter on the writer thread (seen: JSON settings
    // ignored after a switch of files).
    std::vector<boost::shared_ptr<sinks::sink>> retired;
};

// The lines, through the severity logger, to the sink; then out of its buffer. (Under feed_mutex_.)
void feed_lines(logging_state& s, std::vector<log_details>& lines) {
    for (auto& details : lines) {
        if (details.reopen) {
            if (s.to_file) s.to_file->locked_backend()->reopen();
            continue;
        }
        auto record = s.logger.open_record(logging::keywords::severity = details.level);
        if (!record) continue;  // no sink yet
        record.attribute_values().insert(details_key(), attrs::make_attribute_value(std::move(details)));
        s.logger.push_record(std::move(record));
    }
    if (s.sink) s.sink->flush();
    auto const dropped = queue_dropped.load(std::memory_order_relaxed);
    if (dropped != s.reported_drops) {
        auto const since = dropped - s.reported_drops;
        s.reported_drops = dropped;
        log_write(log_level::warn, "log lines dropped: the log writer fell behind", {{"dropped", since}});
    }
}

logging_state& state() {
    static auto* const instance = [] {
        auto* s = new logging_state;
        s->writer.feed = [s](std::vector<log_details>& lines) { feed_lines(*s, lines); };
        (void)logging::core::get();  // made before the handler below: it goes after it has run
        // Lines still queued at exit are written before Boost.Log's own statics go.
        std::atexit([] {
            stop_logging();
            after_exit = true;
        });
        return s;
    }();
    return *instance;
}

boost::shared_ptr<stderr_sink> make_stderr_sink() {
    auto backend = boost::make_shared<sinks::text_ostream_backend>();
    // A stream of its own on a copy of fd 2, with a buffer: a batch of lines leaves in one write.
    int const fd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    auto buffer = std::make_shared<__gnu_cxx::stdio_filebuf<char>>(fd >= 0 ? fd : STDERR_FILENO, std::ios::out,
                                                                   64 * 1024);
    struct owning_stream : std::ostream {
        explicit owning_stream(std::shared_ptr<std::streambuf> b) : std::ostream(b.get()), buffer(std::move(b)) {}
        std::shared_ptr<std::streambuf> buffer;
    };
    auto stream = boost::make_shared<owning_stream>(std::move(buffer));
    stream->exceptions(std::ios::goodbit);
    backend->add_stream(stream);
    backend->auto_flush(false);  // flushed once per batch
    return boost::make_shared<stderr_sink>(backend);
}

void set_formatter(logging_state& s) {
    auto const format = s.format;
    auto formatter = [format](logging::record_view const& r, logging::formatting_ostream& o) {
        format_record(format, r, o);
    };
    if (s.to_stderr) s.to_stderr->set_formatter(formatter);
    if (s.to_file) s.to_file->set_formatter(formatter);
}

// Replaces the core's sink, after what waits for the old one is written.
void install(logging_state& s, boost::shared_ptr<sinks::sink> sink) {
    s.writer.flush();
    auto core = logging::core::get();
    std::lock_guard feeding(s.writer.feed_mutex_);
    if (s.sink) {
        s.sink->flush();
        core->remove_sink(s.sink);
        s.retired.push_back(s.sink);
    }
    s.sink = std::move(sink);
    core->add_sink(s.sink);
}

}  // namespace

void init_logging(log_level level, log_format format) {
    auto& s = state();
    current_level = level;
    current_format = format;
    std::lock_guard lock(s.mutex);
    s.format = format;
    // (No core filter: log_enabled() looks at the level before anything is made.)
    if (!s.sink) {
        s.to_stderr = make_stderr_sink();
        set_formatter(s);
        install(s, s.to_stderr);
    } else {
        s.writer.flush();  // the lines logged before go out as they were asked for
        std::lock_guard feeding(s.writer.feed_mutex_);
        set_formatter(s);
    }
    s.writer.start();
}

std::string log_to_file(log_file_options const& options) {
    // Opened once here so that a path that cannot work is a usage error now, not a line lost later.
    int const fd = ::open(options.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open log file " + options.path + ": " + std::strerror(errno);
    ::close(fd);
    auto& s = state();
    std::lock_guard lock(s.mutex);
    auto backend = boost::make_shared<log_file_backend>(options, s.format);
    auto sink = boost::make_shared<file_sink>(backend);
    auto const previous = s.to_file;
    {
        std::lock_guard feeding(s.writer.feed_mutex_);
        s.to_file = sink;
        set_formatter(s);
    }
    install(s, sink);
    if (previous) previous->locked_backend()->release();  // its file is closed now
    s.to_stderr.reset();
    s.writer.start();
    return {};
}

void reopen_log_file() {
    // In the queue, between the lines: those logged before it end the old file, those after it
    // begin the new one.
    log_details reopen;
    reopen.reopen = true;
    state().writer.push(std::move(reopen), true);
}

void flush_log() { state().writer.flush(); }

void stop_logging() { state().writer.stop(); }

std::uint64_t log_lines_dropped() {
    auto& s = state();
    std::uint64_t file_drops = 0;
    {
        std::lock_guard lock(s.mutex);
        if (s.to_file) file_drops = s.to_file->locked_backend()->dropped();
    }
    return queue_dropped.load(std::memory_order_relaxed) + file_drops;
}

bool log_enabled(log_level level) {
    auto const current = current_level.load(std::memory_order_relaxed);
    return current != log_level::off && level >= current && level != log_level::off;
}

void log_write(log_level level, std::string_view message, std::initializer_list<log_field> fields) {
    log_details details{{}, level, std::string(message), {fields.begin(), fields.end()}};
    ::clock_gettime(CLOCK_REALTIME, &details.time);
    if (after_exit.load(std::memory_order_acquire)) {
        std::string line;
        append_line(line, current_format.load(), {details.time, level, details.message, details.fields});
        line += '\n';
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        return;
    }
    state().writer.push(std::move(details), level >= log_level::warn);
}

}  // namespace tunnel
