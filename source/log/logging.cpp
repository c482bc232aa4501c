#include "log/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/log/attributes/attribute_value_impl.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/core/core.hpp>
#include <boost/log/expressions/keyword.hpp>
#include <boost/log/expressions/predicates/is_in_range.hpp>
#include <boost/log/expressions/message.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sinks/bounded_fifo_queue.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
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
namespace expr = boost::log::expressions;

using log_fields = std::vector<log_field>;

BOOST_LOG_ATTRIBUTE_KEYWORD(severity_attr, "Severity", log_level)
BOOST_LOG_ATTRIBUTE_KEYWORD(timestamp_attr, "TimeStamp", boost::posix_time::ptime)
BOOST_LOG_ATTRIBUTE_KEYWORD(fields_attr, "Fields", log_fields)
BOOST_LOG_ATTRIBUTE_KEYWORD(reopen_attr, reopen_marker, bool)

namespace {

std::atomic<log_level> current_level{log_level::info};
std::atomic<std::uint64_t> queue_dropped{0};
std::atomic<bool> reopen_dropped{false};

// A full queue drops the line and counts it: an I/O thread never waits for the disk. The writer
// reports the count in the log once it has caught up.
struct count_and_drop {
    template <class Lock>
    static bool on_overflow(logging::record_view const& record, Lock&) {
        if (record[reopen_attr]) {
            reopen_dropped.store(true);  // the writer reopens after its next batch instead
            return false;
        }
        queue_dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    static void on_queue_space_available() {}
    static void interrupt() {}
};
using line_queue = sinks::bounded_fifo_queue<log_queue_lines, count_and_drop>;
using stderr_sink = sinks::asynchronous_sink<sinks::text_ostream_backend, line_queue>;
using file_sink = sinks::asynchronous_sink<log_file_backend, line_queue>;

timespec to_timespec(boost::posix_time::ptime const& t) {
    static boost::posix_time::ptime const epoch(boost::gregorian::date(1970, 1, 1));
    auto const since = t - epoch;
    timespec out{};
    out.tv_sec = static_cast<std::time_t>(since.total_seconds());
    out.tv_nsec = static_cast<long>(since.fractional_seconds() *
                                    (1'000'000'000 / boost::posix_time::time_duration::ticks_per_second()));
    return out;
}

// The Boost.Log formatter, for either format: runs on the writer thread.
void format_record(log_format format, logging::record_view const& record, logging::formatting_ostream& out) {
    thread_local std::string line;
    line.clear();
    log_line l;
    if (auto const t = record[timestamp_attr]) l.time = to_timespec(*t);
    if (auto const level = record[severity_attr]) l.level = *level;
    auto const message = record[expr::smessage];
    if (message) l.message = *message;
    auto const fields = record[fields_attr];
    if (fields) l.fields = *fields;
    append_line(line, format, l);
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

// Drains the sink on a thread of its own: a line waits at most log_batch_delay for the ones after
// it (a warning not at all), and they are written together. Before start() and after stop(), each
// line is written by the thread that logs it.
class log_writer {
public:
    // feed: writes everything queued (called on the writer thread, or inline when not running).
    log_writer() = default;

    void start() {
        std::lock_guard lock(mutex_);
        if (running_) return;
        running_ = true;
        stop_ = false;
        thread_ = std::thread([this] { run(); });
    }

    // A line was queued.
    void note(bool urgent) {
        if (!urgent && pending_hint_.exchange(true, std::memory_order_acq_rel)) return;  // a flush is due
        std::unique_lock lock(mutex_);
        if (!running_) {
            lock.unlock();
            pending_hint_.store(false);
            feed_now();
            return;
        }
        pending_ = true;
        urgent_ = urgent_ || urgent;
        cv_.notify_one();
    }

    // Returns once every line queued before the call is written.
    void flush() {
        std::unique_lock lock(mutex_);
        if (!running_) {
            lock.unlock();
            feed_now();
            return;
        }
        auto const ticket = ++asked_;
        pending_ = urgent_ = true;
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

    // What feeding does: set once, before start().
    std::function<void()> feed;

private:
    void feed_now() {
        std::lock_guard lock(feed_mutex_);
        if (feed) feed();
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return pending_ || stop_; });
            if (!urgent_ && !stop_) cv_.wait_for(lock, log_batch_delay, [&] { return urgent_ || stop_; });
            bool const stopping = stop_;
            auto const ticket = asked_;
            pending_ = urgent_ = false;
            pending_hint_.store(false, std::memory_order_release);
            lock.unlock();
            {
                std::lock_guard feeding(feed_mutex_);
                if (feed) feed();
            }
            lock.lock();
            done_ = ticket;
            done_cv_.notify_all();
            if (stopping) return;
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable done_cv_;
    bool running_ = false;
    bool pending_ = false;
    bool urgent_ = false;
    bool stop_ = false;
    std::uint64_t asked_ = 0;
    std::uint64_t done_ = 0;
    std::atomic<bool> pending_hint_{false};
    std::thread thread_;

public:
    // One feeder at a time, so that lines leave in the order they came (recursive: feeding may
    // log, when the writer has stopped and lines are written inline).
    std::recursive_mutex feed_mutex_;
};

// Everything above, made once and never destroyed: lines may come while statics are torn down.
struct logging_state {
    std::mutex mutex;
    log_format format = log_format::text;
    boost::shared_ptr<sinks::sink> sink;  // the one sink in the core
    boost::shared_ptr<stderr_sink> to_stderr;
    boost::shared_ptr<file_sink> to_file;
    logging::sources::severity_logger_mt<log_level> logger;
    log_writer writer;
    std::uint64_t reported_drops = 0;
    // Sinks taken out of the core are kept: a sink's formatter is cached per thread under the
    // sink's address (boost::thread_specific_ptr), so a new sink made at a freed one's address
    // would format with the old sink's formatter on the writer thread (seen: JSON settings
    // ignored after a switch of files).
    std::vector<boost::shared_ptr<sinks::sink>> retired;
};

void report_queue_drops(logging_state& s);

logging_state& state() {
    static auto* const instance = [] {
        auto* s = new logging_state;
        auto core = logging::core::get();
        core->add_global_attribute("TimeStamp", attrs::utc_clock());
        s->writer.feed = [s] {
            if (s->to_file) s->to_file->flush();
            if (s->to_stderr) s->to_stderr->flush();
            if (reopen_dropped.exchange(false) && s->to_file) s->to_file->locked_backend()->reopen();
            report_queue_drops(*s);
        };
        // Lines still queued at exit are written before Boost.Log's own statics go.
        std::atexit([] { stop_logging(); });
        return s;
    }();
    return *instance;
}

void report_queue_drops(logging_state& s) {
    auto const dropped = queue_dropped.load(std::memory_order_relaxed);
    if (dropped == s.reported_drops) return;
    auto const since = dropped - s.reported_drops;
    s.reported_drops = dropped;
    log_write(log_level::warn, "log lines dropped: the log writer fell behind", {{"dropped", since}});
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
    backend->auto_flush(false);  // the writer flushes once per batch
    auto sink = boost::make_shared<stderr_sink>(backend, false);
    // stderr has nothing to reopen.
    sink->set_filter([](logging::attribute_value_set const& values) { return values.count(reopen_marker) == 0; });
    return sink;
}

void set_formatter(logging_state& s) {
    auto const format = s.format;
    auto formatter = [format](logging::record_view const& r, logging::formatting_ostream& o) {
        format_record(format, r, o);
    };
    if (s.to_stderr) s.to_stderr->set_formatter(formatter);
    if (s.to_file) s.to_file->set_formatter(formatter);
}

// Replaces the core's sink (with what the old one holds written first).
void install(logging_state& s, boost::shared_ptr<sinks::sink> sink) {
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
    std::lock_guard lock(s.mutex);
    s.format = format;
    auto core = logging::core::get();
    core->set_filter(expr::is_in_range(severity_attr, level, log_level::off));
    if (!s.sink) {
        s.to_stderr = make_stderr_sink();
        set_formatter(s);
        install(s, s.to_stderr);
    } else {
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
    s.to_file = boost::make_shared<file_sink>(backend, false);
    set_formatter(s);
    install(s, s.to_file);
    s.to_stderr.reset();
    s.writer.start();
    return {};
}

void reopen_log_file() {
    // A record of its own in the queue: the lines logged before it end the old file, those after
    // it begin the new one, wherever the writer is.
    auto& s = state();
    auto record = s.logger.open_record(boost::log::keywords::severity = log_level::error);
    if (!record) return;
    record.attribute_values().insert(reopen_marker, attrs::make_attribute_value(true));
    s.logger.push_record(std::move(record));
    s.writer.note(true);
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
    auto& s = state();
    auto record = s.logger.open_record(boost::log::keywords::severity = level);
    if (!record) return;  // filtered out, or no sink
    if (fields.size() != 0)
        record.attribute_values().insert("Fields", attrs::make_attribute_value(log_fields(fields)));
    {
        logging::record_ostream stream(record);
        stream.write(message.data(), static_cast<std::streamsize>(message.size()));
        stream.flush();
    }
    s.logger.push_record(std::move(record));
    s.writer.note(level >= log_level::warn);
}

}  // namespace tunnel
