#include "log/logging.hpp"

#include <atomic>
#include <boost/core/null_deleter.hpp>
#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/utility/manipulators/add_value.hpp>
#include <cctype>
#include <iostream>

namespace tunnel {

namespace blog = boost::log;

namespace {

std::atomic<log_level> current_level{log_level::info};
std::atomic<log_format> current_format{log_format::text};

using sink_type = blog::sinks::synchronous_sink<blog::sinks::text_ostream_backend>;

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
    static bool installed = false;
    if (installed) return;
    installed = true;
    auto backend = boost::make_shared<blog::sinks::text_ostream_backend>();
    backend->add_stream(boost::shared_ptr<std::ostream>(&std::cerr, boost::null_deleter()));
    backend->auto_flush(true);
    auto sink = boost::make_shared<sink_type>(backend);
    sink->set_formatter(&format_record);
    blog::core::get()->add_sink(sink);
    blog::core::get()->add_global_attribute("TimeStamp", blog::attributes::utc_clock());
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
