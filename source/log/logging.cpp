#include "log/logging.hpp"

#include <atomic>
#include <boost/core/null_deleter.hpp>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/utility/manipulators/add_value.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <variant>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <streambuf>
#include <unistd.h>

namespace tunnel {

namespace blog = boost::log;

namespace {

std::atomic<log_level> current_level{log_level::info};
std::atomic<log_format> current_format{log_format::text};

using sink_type = blog::sinks::synchronous_sink<blog::sinks::text_ostream_backend>;
using file_sink_type = blog::sinks::synchronous_sink<blog::sinks::text_file_backend>;

// The installed sinks: stderr until log_to_file, then the file (replaced on reopen).
std::mutex sinks_mutex;
boost::shared_ptr<sink_type> stderr_sink;
boost::shared_ptr<file_sink_type> file_sink;
std::optional<log_file_options> file_options;

// stderr as a stream that hands each record to the kernel in one write: std::cerr is unbuffered,
// so the backend's record and its newline were two. The sink flushes after every record.
class stderr_buffer final : public std::streambuf {
protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof()))
            pending_.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(char const* s, std::streamsize n) override {
        pending_.append(s, static_cast<std::size_t>(n));
        return n;
    }
    int sync() override {
        std::size_t done = 0;
        while (done < pending_.size()) {
            auto const n = ::write(STDERR_FILENO, pending_.data() + done, pending_.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // stderr is gone or full: the record is lost, as with std::cerr
            done += static_cast<std::size_t>(n);
        }
        pending_.clear();
        return 0;
    }

private:
    std::string pending_;
};

std::ostream& stderr_stream() {
    // Never destroyed: records may still come while static objects are torn down at exit.
    static auto* const stream = new std::ostream(new stderr_buffer);
    return *stream;
}

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

void format_record(blog::record_view const& rec, blog::formatting_ostream& out) {
    auto const level = blog::extract_or_default<log_level>("Severity", rec, log_level::info);
    auto const ts = blog::extract<boost::posix_time::ptime>("TimeStamp", rec);
    std::string const stamp = ts ? boost::posix_time::to_iso_extended_string(*ts) + "Z" : std::string{};
    auto const message = blog::extract_or_default<std::string>("Message", rec, std::string{});
    auto const fields = blog::extract_or_default<std::string>("Fields", rec, std::string{});
    if (current_format.load(std::memory_order_relaxed) == log_format::json) {
        out << "{\"ts\":\"" << stamp << "\",\"level\":\"" << log_level_name(level) << "\",\"msg\":\""
            << json_escape(message) << '"' << fields << '}';
    } else {
        std::string name(log_level_name(level));
        for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        name.resize(5, ' ');
        out << stamp << ' ' << name << ' ' << message << fields;
    }
}

blog::sources::severity_logger_mt<log_level>& logger() {
    static blog::sources::severity_logger_mt<log_level> instance;
    return instance;
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

std::string_view log_level_name(log_level level) {
    switch (level) {
        case log_level::trace:
            return "trace";
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
        case log_level::off:
            return "off";
    }
    return "info";
}

std::string json_escape(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
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
    return out;
}

std::string render_fields(log_format format, std::initializer_list<log_field> fields) {
    std::string out;
    for (auto const& f : fields) {
        if (format == log_format::json) {
            out += ",\"";
            out += json_escape(f.key());
            out += "\":";
            if (f.is_number()) {
                out += f.text();
            } else {
                out += '"';
                out += json_escape(f.text());
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
    return out;
}

void init_logging(log_level level, log_format format) {
    current_level = level;
    current_format = format;
    std::lock_guard lock(sinks_mutex);
    static bool installed = false;
    if (installed) return;
    installed = true;
    auto backend = boost::make_shared<blog::sinks::text_ostream_backend>();
    backend->add_stream(boost::shared_ptr<std::ostream>(&stderr_stream(), boost::null_deleter()));
    backend->auto_flush(true);
    stderr_sink = boost::make_shared<sink_type>(backend);
    stderr_sink->set_formatter(&format_record);
    blog::core::get()->add_sink(stderr_sink);
    blog::core::get()->add_global_attribute("TimeStamp", blog::attributes::utc_clock());
}

namespace {

// A file sink for options: appends to the current file, rotates it at max_size into PATH.N in the
// same directory, where the collector keeps the newest max_files - 1.
std::variant<boost::shared_ptr<file_sink_type>, std::string> make_file_sink(log_file_options const& o) {
    namespace keywords = blog::keywords;
    std::filesystem::path const path = std::filesystem::absolute(o.path);
    {
        std::ofstream probe(path, std::ios::app);  // fails early, with a reason, where Boost.Log would throw
        if (!probe) return "--log-file " + o.path + ": cannot open it for writing (" + std::strerror(errno) + ")";
    }
    try {
        auto backend = boost::make_shared<blog::sinks::text_file_backend>(
            keywords::file_name = path.string(), keywords::target_file_name = path.filename().string() + ".%N",
            keywords::open_mode = std::ios_base::out | std::ios_base::app, keywords::rotation_size = o.max_size,
            keywords::enable_final_rotation = false);
        backend->auto_flush(true);
        backend->set_file_collector(blog::sinks::file::make_collector(
            keywords::target = path.parent_path().string(), keywords::max_files = o.max_files - 1));
        backend->scan_for_files(blog::sinks::file::scan_matching);
        auto sink = boost::make_shared<file_sink_type>(backend);
        sink->set_formatter(&format_record);
        return sink;
    } catch (std::exception const& e) {
        return "--log-file " + o.path + ": " + e.what();
    }
}

}  // namespace

std::string log_to_file(log_file_options const& options) {
    auto made = make_file_sink(options);
    if (auto const* error = std::get_if<std::string>(&made)) return *error;
    std::lock_guard lock(sinks_mutex);
    auto core = blog::core::get();
    if (stderr_sink) core->remove_sink(stderr_sink);
    if (file_sink) core->remove_sink(file_sink);
    file_sink = std::get<0>(std::move(made));
    file_options = options;
    core->add_sink(file_sink);
    return {};
}

void reopen_log_file() {
    std::lock_guard lock(sinks_mutex);
    if (!file_options) return;
    auto made = make_file_sink(*file_options);
    if (std::holds_alternative<std::string>(made)) return;  // keep writing where we were
    auto core = blog::core::get();
    core->remove_sink(file_sink);
    file_sink->flush();
    file_sink = std::get<0>(std::move(made));
    core->add_sink(file_sink);
}

bool log_enabled(log_level level) {
    auto const current = current_level.load(std::memory_order_relaxed);
    return current != log_level::off && level >= current;
}

void log_write(log_level level, std::string_view message, std::initializer_list<log_field> fields) {
    auto& lg = logger();
    std::string const rendered = render_fields(current_format.load(std::memory_order_relaxed), fields);
    BOOST_LOG_SEV(lg, level) << blog::add_value("Fields", rendered) << message;
}

}  // namespace tunnel
