#include "control/messages.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <sstream>

namespace tunnel::control {

namespace json = boost::json;

std::variant<request_kind, std::string> parse_request(std::string_view line) {
    if (line.size() > max_request) return "request longer than " + std::to_string(max_request) + " bytes";
    boost::system::error_code ec;
    auto const value = json::parse(line, ec);
    if (ec) return "bad request: not JSON (" + ec.message() + ")";
    auto const* object = value.if_object();
    if (!object) return std::string("bad request: expected a JSON object");
    auto const* cmd = object->if_contains("cmd");
    if (!cmd || !cmd->is_string()) return std::string("bad request: no \"cmd\" string");
    auto const& name = cmd->get_string();
    if (name == "status") return request_kind::status;
    if (name == "stop") return request_kind::stop;
    std::string shown(name.data(), std::min<std::size_t>(name.size(), 64));
    return "unknown cmd \"" + shown + "\" (expected status or stop)";
}

namespace {
// Durations go out as whole milliseconds: exact, and easy to read in the JSON.
std::int64_t millis(double seconds) { return static_cast<std::int64_t>(seconds * 1000); }

json::object base(identity const& who) {
    json::object o;
    o["ok"] = true;
    o["pid"] = who.pid;
    o["version"] = who.version;
    o["container_id"] = who.container_id;
    o["runner"] = who.runner;
    return o;
}
}  // namespace

std::string status_answer(identity const& who, client_status const& s) {
    auto o = base(who);
    o["state"] = state_name(s.state);
    o["state_ms"] = millis(s.state_seconds);
    o["uptime_ms"] = millis(s.uptime_seconds);
    o["sessions"] = s.sessions;
    o["reconnects"] = s.reconnects;
    if (s.last_error.empty()) {
        o["last_error"] = nullptr;
    } else {
        o["last_error"] = s.last_error;
        o["last_error_ago_ms"] = millis(s.last_error_seconds_ago);
    }
    o["totals"] = json::object{{"connections", s.connections},
                               {"open", s.links.size()},
                               {"bytes_up", s.bytes_up},
                               {"bytes_down", s.bytes_down},
                               {"frames_in", s.frames_in},
                               {"frames_out", s.frames_out}};
    json::array links;
    for (auto const& l : s.links)
        links.push_back(json::object{{"client_id", l.client_id},
                                     {"proto", l.proto},
                                     {"port", l.port},
                                     {"age_ms", millis(l.age_seconds)},
                                     {"bytes_up", l.bytes_up},
                                     {"bytes_down", l.bytes_down},
                                     {"queued", l.queued}});
    o["links"] = std::move(links);
    return json::serialize(o);
}

std::string stop_answer(identity const& who) {
    auto o = base(who);
    o["stopping"] = true;
    return json::serialize(o);
}

std::string error_answer(std::string_view message) {
    return json::serialize(json::object{{"ok", false}, {"error", message}});
}

namespace {
constexpr std::string_view busy_error = "busy: too many control connections";
}

std::string busy_answer() { return error_answer(busy_error); }

namespace {
json::object const* as_object(json::value const& v) { return v.if_object(); }

json::value parse_answer(std::string_view answer) {
    boost::system::error_code ec;
    auto v = json::parse(answer, ec);
    if (ec) return nullptr;
    return v;
}

std::string text(json::object const& o, char const* key) {
    auto const* v = o.if_contains(key);
    if (v && v->is_string()) return std::string(v->get_string());
    return {};
}

double number(json::object const& o, char const* key) {
    auto const* v = o.if_contains(key);
    if (!v) return 0;
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    return 0;
}

std::uint64_t count(json::object const& o, char const* key) { return static_cast<std::uint64_t>(number(o, key)); }
}  // namespace

std::string answer_error(std::string_view answer) {
    auto const v = parse_answer(answer);
    auto const* o = as_object(v);
    if (!o) return "the client's answer is not a JSON object";
    auto const* ok = o->if_contains("ok");
    if (!ok || !ok->is_bool()) return "the client's answer has no \"ok\"";
    if (ok->get_bool()) return {};
    auto error = text(*o, "error");
    return error.empty() ? "the client refused the request" : error;
}

bool answer_busy(std::string_view answer) {
    // By the error's first word, which every version of the server has sent.
    return answer_error(answer).starts_with("busy:");
}

long answer_pid(std::string_view answer) {
    auto const v = parse_answer(answer);
    auto const* o = as_object(v);
    return o ? static_cast<long>(number(*o, "pid")) : 0;
}

std::string human_duration(double seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 1) return std::to_string(static_cast<long>(seconds * 1000)) + "ms";
    auto total = static_cast<long>(seconds);
    long const d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60, s = total % 60;
    if (d) return std::to_string(d) + "d" + std::to_string(h) + "h";
    if (h) return std::to_string(h) + "h" + std::to_string(m) + "m";
    if (m) return std::to_string(m) + "m" + std::to_string(s) + "s";
    return std::to_string(s) + "s";
}

std::string human_bytes(std::uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " B";
    char const* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes) / 1024;
    int unit = 0;
    while (value >= 1024 && unit < 3) {
        value /= 1024;
        ++unit;
    }
    char out[32];
    std::snprintf(out, sizeof out, "%.1f %s", value, units[unit]);
    return out;
}

std::string render_status(std::string_view answer) {
    auto const v = parse_answer(answer);
    auto const* o = as_object(v);
    if (!o) return "(unreadable answer)\n";
    std::ostringstream out;
    out << "tunnel-client " << text(*o, "version") << ", pid " << count(*o, "pid") << ", container "
        << text(*o, "container_id") << "\n";
    out << "runner      " << text(*o, "runner") << "\n";
    out << "state       " << text(*o, "state") << " for " << human_duration(number(*o, "state_ms") / 1000)
        << " (sessions " << count(*o, "sessions") << ", reconnects " << count(*o, "reconnects") << ")\n";
    auto const error = text(*o, "last_error");
    out << "last error  ";
    if (error.empty())
        out << "none\n";
    else
        out << error << " (" << human_duration(number(*o, "last_error_ago_ms") / 1000) << " ago)\n";
    json::object empty;
    auto const* totals_value = o->if_contains("totals");
    auto const& totals = totals_value && totals_value->is_object() ? totals_value->get_object() : empty;
    out << "totals      " << count(totals, "connections") << " connections (" << count(totals, "open")
        << " open), " << human_bytes(count(totals, "bytes_up")) << " up, "
        << human_bytes(count(totals, "bytes_down")) << " down, " << count(totals, "frames_in")
        << " frames in, " << count(totals, "frames_out") << " out\n";
    auto const* links = o->if_contains("links");
    if (!links || !links->is_array() || links->get_array().empty()) {
        out << "\nno open connections\n";
        return out.str();
    }
    char row[160];
    std::snprintf(row, sizeof row, "\n%-10s %-5s %-5s %-8s %-10s %-10s %s\n", "CLIENT_ID", "PROTO", "PORT", "AGE",
                  "UP", "DOWN", "QUEUED");
    out << row;
    for (auto const& item : links->get_array()) {
        if (!item.is_object()) continue;
        auto const& l = item.get_object();
        std::snprintf(row, sizeof row, "%-10llu %-5s %-5llu %-8s %-10s %-10s %s\n",
                      static_cast<unsigned long long>(count(l, "client_id")), text(l, "proto").c_str(),
                      static_cast<unsigned long long>(count(l, "port")),
                      human_duration(number(l, "age_ms") / 1000).c_str(), human_bytes(count(l, "bytes_up")).c_str(),
                      human_bytes(count(l, "bytes_down")).c_str(), human_bytes(count(l, "queued")).c_str());
        out << row;
    }
    return out.str();
}

health_verdict health_of(std::string_view answer) {
    auto const v = parse_answer(answer);
    auto const* o = as_object(v);
    if (!o) return {1, "unreadable answer from the client"};
    auto const state = text(*o, "state");
    auto const since = human_duration(number(*o, "state_ms") / 1000);
    if (state == "up") return {0, "up for " + since};
    std::string line = "tunnel down: " + (state.empty() ? std::string("unknown state") : state) + " for " + since;
    if (auto const error = text(*o, "last_error"); !error.empty()) line += " (last error: " + error + ")";
    return {1, line};
}

}  // namespace tunnel::control
