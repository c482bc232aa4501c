#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "stats.hpp"

namespace bench {

namespace json = boost::json;

run_info describe_machine() {
    run_info info;
    std::time_t const now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    info.date = date;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    info.hostname = host;
    info.nproc = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
    utsname u{};
    if (::uname(&u) == 0) info.kernel = std::string(u.sysname) + " " + u.release;
    std::ifstream loadavg("/proc/loadavg");
    std::string one, five, fifteen;
    if (loadavg >> one >> five >> fifteen) info.loadavg = one + " " + five + " " + fifteen;
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
        if (line.rfind("model name", 0) == 0) {
            info.cpu_model = line.substr(line.find(':') + 2);
            break;
        }
    return info;
}

namespace {

struct row {
    std::string id, label, unit;
    bool higher_is_better = true;
    std::map<std::string, std::vector<double>> values;  // target -> one value per successful round
    std::map<std::string, unsigned> failures;           // target -> failed rounds
};

// Rows in the order figures first appear; a failed run counts against the rows of its scenario.
std::vector<row> collect(bench_report const& report) {
    std::vector<row> rows;
    auto find = [&](std::string const& id) -> row* {
        for (auto& r : rows)
            if (r.id == id) return &r;
        return nullptr;
    };
    for (auto const& m : report.measurements)
        for (auto const& f : m.figures) {
            row* r = find(f.id);
            if (!r) {
                rows.push_back(row{f.id, f.label, f.unit, f.higher_is_better, {}, {}});
                r = &rows.back();
            }
            r->values[m.target].push_back(f.value);
        }
    for (auto const& m : report.measurements) {
        if (m.error.empty()) continue;
        bool counted = false;
        for (auto& r : rows)
            if (r.id.rfind(m.scenario + ".", 0) == 0) {
                ++r.failures[m.target];
                counted = true;
            }
        if (!counted) {  // no target produced a figure for this scenario: still show it failed
            rows.push_back(row{m.scenario + ".failed", m.scenario + " (no figure)", "", true, {}, {}});
            ++rows.back().failures[m.target];
        }
    }
    return rows;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "-";
    std::ostringstream out;
    double const a = std::fabs(v);
    int const decimals = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 2 : 3;
    out << std::fixed << std::setprecision(decimals) << v;
    return out.str();
}

std::string format_ratio(double a, double b) {
    if (std::isnan(a) || std::isnan(b) || b == 0) return "-";
    std::ostringstream out;
    out << std::fixed << std::setprecision(2) << a / b << "x";
    return out.str();
}

double median_of(row const& r, std::string const& target) {
    auto it = r.values.find(target);
    return it == r.values.end() ? std::nan("") : median(it->second);
}

// The lowest and the highest round of a target ("-" when it has none): how far one run's rounds
// stray from the median on a noisy machine.
std::string range_of(row const& r, std::string const& target) {
    auto it = r.values.find(target);
    if (it == r.values.end() || it->second.empty()) return "-";
    auto const [low, high] = std::minmax_element(it->second.begin(), it->second.end());
    return format_value(*low) + ".." + format_value(*high);
}

}  // namespace

void print_table(std::ostream& out, bench_report const& report) {
    auto const& m = report.machine;
    auto const& opt = report.opt;
    out << "tunnel-bench " << m.date << "  host " << m.hostname << "  " << m.nproc << " cores";
    if (!m.cpu_model.empty()) out << " (" << m.cpu_model << ")";
    out << "  " << m.kernel << "  load " << m.loadavg << "\n";
    out << "medians of " << opt.rounds << (opt.rounds == 1 ? " round" : " rounds")
        << ", targets alternating each run;"
        << " throughput " << (opt.bytes >> 20) << " MiB per run, latency " << opt.requests << " requests, "
        << opt.cycles << " connection cycles, " << opt.idle << " idle connections, " << opt.datagrams
        << " datagrams, trickle runs of " << opt.trickle_seconds << " s"
        << (opt.tls ? "; clients over wss:// (TLS), direct and relay plain TCP" : "")
        << (opt.smoke ? "  [SMOKE: sizes too small to mean anything]" : "") << "\n";
    for (auto const& t : report.targets) {
        out << "  " << std::left << std::setw(7) << t.label << "= ";
        if (t.kind == target_kind::direct)
            out << "harness <-> service over loopback TCP, nothing in between (the harness's own limit)\n";
        else if (t.kind == target_kind::relay)
            out << (report.relay_commands.empty() ? std::string("socat") : report.relay_commands.front())
                << " (a process per connection)\n";
        else
            out << (opt.tls ? "SSL_CERT_FILE=CA " : "") << t.command << " --runner-url "
                << (opt.tls ? "wss" : "ws") << "://127.0.0.1:PORT --container-id ID\n";
    }
    out << "\n";

    std::vector<std::string> columns;
    for (auto const& t : report.targets) columns.push_back(t.label);
    bool const has_relay = std::any_of(report.targets.begin(), report.targets.end(),
                                       [](target const& t) { return t.kind == target_kind::relay; });
    std::vector<target const*> clients;
    for (auto const& t : report.targets)
        if (t.kind == target_kind::client) clients.push_back(&t);
    std::vector<std::pair<std::string, std::string>> ratios;  // numerator, denominator
    if (has_relay)
        for (auto const* c : clients) ratios.emplace_back(c->label, "relay");
    for (std::size_t i = 1; i < clients.size(); ++i)
        ratios.emplace_back(clients[i]->label, clients[0]->label);

    auto rows = collect(report);
    std::size_t label_width = 6;
    for (auto const& r : rows) label_width = std::max(label_width, r.label.size());
    int const w = 11;
    auto const row_start = [&](std::string const& label, std::string const& unit) {
        out << std::left << std::setw(static_cast<int>(label_width) + 2) << label << std::setw(9) << unit;
    };
    row_start("metric", "unit");
    for (auto const& c : columns) out << std::right << std::setw(w) << c;
    auto ratio_width = [&](std::pair<std::string, std::string> const& r) {
        return std::max<int>(w, static_cast<int>(r.first.size() + r.second.size()) + 3);
    };
    for (auto const& r : ratios) out << std::right << std::setw(ratio_width(r)) << (r.first + "/" + r.second);
    out << "\n";
    for (auto const& r : rows) {
        row_start(r.label, r.unit);
        for (auto const& c : columns) {
            std::string cell = format_value(median_of(r, c));
            if (auto f = r.failures.find(c); f != r.failures.end() && f->second > 0)
                cell = r.values.count(c) ? cell + "!" : "FAIL";
            out << std::right << std::setw(w) << cell;
        }
        for (auto const& ra : ratios)
            out << std::right << std::setw(ratio_width(ra))
                << format_ratio(median_of(r, ra.first), median_of(r, ra.second));
        out << "\n";
    }
    if (opt.rounds >= 2) {
        int const rw = 15;
        out << "\nspread: lowest..highest round\n";
        row_start("metric", "unit");
        for (auto const& c : columns) out << std::right << std::setw(rw) << c;
        out << "\n";
        for (auto const& r : rows) {
            row_start(r.label, r.unit);
            for (auto const& c : columns) out << std::right << std::setw(rw) << range_of(r, c);
            out << "\n";
        }
    }
    out << "\nhigher is better for MiB/s, cycles/s, dgram/s; lower for us, s/GiB, KiB, %. "
           "Ratios are target/baseline medians. '!' = some rounds failed (median of the rest); "
           "'-' = not measured.\n";
    for (auto const& note : report.notes) out << "note: " << note << "\n";
}

void write_json(std::string const& path, bench_report const& report) {
    json::object root;
    auto const& m = report.machine;
    root["date"] = m.date;
    root["hostname"] = m.hostname;
    root["nproc"] = m.nproc;
    root["kernel"] = m.kernel;
    root["cpu_model"] = m.cpu_model;
    root["loadavg_at_start"] = m.loadavg;
    root["command_line"] = report.opt.command_line;
    json::object options;
    options["rounds"] = report.opt.rounds;
    options["bytes"] = report.opt.bytes;
    options["idle"] = report.opt.idle;
    options["requests"] = report.opt.requests;
    options["cycles"] = report.opt.cycles;
    options["datagrams"] = report.opt.datagrams;
    options["udp_window"] = report.opt.udp_window;
    json::array rates;
    for (unsigned r : report.opt.trickle_rates) rates.emplace_back(r);
    options["trickle_rates"] = std::move(rates);
    options["trickle_seconds"] = report.opt.trickle_seconds;
    options["tls"] = report.opt.tls;
    options["smoke"] = report.opt.smoke;
    json::array scenarios;
    for (auto const& s : report.opt.scenarios) scenarios.emplace_back(s);
    options["scenarios"] = std::move(scenarios);
    root["options"] = std::move(options);

    json::array targets;
    for (auto const& t : report.targets) {
        json::object o;
        o["label"] = t.label;
        o["kind"] = t.kind == target_kind::direct  ? "direct"
                    : t.kind == target_kind::relay ? "relay"
                                                   : "client";
        if (t.kind == target_kind::client) o["command"] = t.command;
        if (t.kind == target_kind::relay) {
            json::array cmds;
            for (auto const& c : report.relay_commands) cmds.emplace_back(c);
            o["commands"] = std::move(cmds);
        }
        targets.emplace_back(std::move(o));
    }
    root["targets"] = std::move(targets);

    json::array samples;
    for (auto const& meas : report.measurements) {
        json::object o;
        o["target"] = meas.target;
        o["scenario"] = meas.scenario;
        o["round"] = meas.round;
        o["seconds"] = meas.seconds;
        if (!meas.error.empty()) o["error"] = meas.error;
        if (meas.client_exit) o["client_exit"] = *meas.client_exit;
        if (!meas.log_path.empty()) o["log"] = meas.log_path;
        json::object figs;
        for (auto const& f : meas.figures) figs[f.id] = f.value;
        o["figures"] = std::move(figs);
        samples.emplace_back(std::move(o));
    }
    root["samples"] = std::move(samples);

    json::object medians;
    for (auto const& r : collect(report)) {
        json::object o;
        o["label"] = r.label;
        o["unit"] = r.unit;
        o["higher_is_better"] = r.higher_is_better;
        json::object per_target;
        json::object lowest, highest;
        for (auto const& [target, values] : r.values) {
            per_target[target] = median(values);
            if (values.empty()) continue;
            auto const [low, high] = std::minmax_element(values.begin(), values.end());
            lowest[target] = *low;
            highest[target] = *high;
        }
        o["median"] = std::move(per_target);
        o["lowest"] = std::move(lowest);
        o["highest"] = std::move(highest);
        medians[r.id] = std::move(o);
    }
    root["medians"] = std::move(medians);
    json::array notes;
    for (auto const& n : report.notes) notes.emplace_back(n);
    root["notes"] = std::move(notes);

    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << json::serialize(root) << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace bench
