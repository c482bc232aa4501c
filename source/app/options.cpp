#include "app/options.hpp"

#include "cli/parse.hpp"
#include "tunnel/port_policy.hpp"
#include "tunnel/reach.hpp"

#include <boost/program_options.hpp>
#include <sstream>
#include <vector>

namespace tunnel::app {

namespace po = boost::program_options;
using cli::parse_count;
using cli::parse_seconds;
using cli::parse_size;

namespace {

// One option: its flag, the environment variables that may supply it (first wins), its help text.
struct option_spec {
    char const* name;   // long name
    char const* flags;  // program_options spelling ("runner-url,r")
    std::vector<char const*> env;
    char const* value_name;
    char const* default_text;  // nullptr = required / no default shown
    char const* help;
};

std::vector<option_spec> const& specs() {
    static std::vector<option_spec> const table = {
        {"runner-url",
         "runner-url,r",
         {"RUNNER_URL", "KOHAKURIVER_TUNNEL_URL"},
         "URL",
         nullptr,
         "runner WebSocket URL (ws:// or wss://; http(s):// accepted)"},
        {"container-id",
         "container-id,c",
         {"CONTAINER_ID", "KOHAKURIVER_CONTAINER_ID"},
         "ID",
         nullptr,
         "container ID or name"},
        {"reconnect-delay",
         "reconnect-delay",
         {"RECONNECT_DELAY"},
         "SECONDS",
         "5",
         "first delay between reconnect attempts; doubles with jitter"},
        {"max-reconnect",
         "max-reconnect",
         {"MAX_RECONNECT"},
         "N",
         "0",
         "give up after N consecutive failed attempts (0 = never)"},
        {"log-level", "log-level", {"LOG_LEVEL"}, "LEVEL", "info", "trace, debug, info, warn, error or off"},
        {"log-format", "log-format", {"TUNNEL_LOG_FORMAT"}, "FORMAT", "text", "text or json"},
        {"log-file",
         "log-file",
         {"TUNNEL_LOG_FILE"},
         "PATH",
         "stderr",
         "write the log to this file, rotated by size; SIGHUP reopens it"},
        {"log-max-size",
         "log-max-size",
         {"TUNNEL_LOG_MAX_SIZE"},
         "BYTES",
         "10M",
         "rotate the log file at this size (at least 16K)"},
        {"log-max-files",
         "log-max-files",
         {"TUNNEL_LOG_MAX_FILES"},
         "N",
         "3",
         "log files kept, the current one included (2 to 1000)"},
        {"max-reconnect-delay",
         "max-reconnect-delay",
         {"TUNNEL_MAX_RECONNECT_DELAY"},
         "SECONDS",
         "60",
         "cap of the reconnect delay"},
        {"connect-timeout",
         "connect-timeout",
         {"TUNNEL_CONNECT_TIMEOUT"},
         "SECONDS",
         "10",
         "limit for TCP connect + TLS + WebSocket handshake to the runner"},
        {"keepalive-timeout",
         "keepalive-timeout",
         {"TUNNEL_KEEPALIVE_TIMEOUT"},
         "SECONDS",
         "30",
         "a runner silent this long is dead (pinged at half)"},
        {"udp-idle-timeout",
         "udp-idle-timeout",
         {"TUNNEL_UDP_IDLE_TIMEOUT"},
         "SECONDS",
         "60",
         "close a UDP flow after this long without traffic"},
        {"stall-timeout",
         "stall-timeout",
         {"TUNNEL_STALL_TIMEOUT"},
         "SECONDS",
         "10",
         "close a connection whose full buffer holds the tunnel this long"},
        {"conn-buffer",
         "conn-buffer",
         {"TUNNEL_CONN_BUFFER"},
         "BYTES",
         "4M",
         "bytes queued for one local connection before the tunnel waits (K/M/G suffix)"},
        {"session-buffer",
         "session-buffer",
         {"TUNNEL_SESSION_BUFFER"},
         "BYTES",
         "1/8 of the memory limit, 4M-64M",
         "bytes queued for all local connections together before the tunnel waits"},
        {"threads", "threads", {"TUNNEL_THREADS"}, "N", "1", "I/O threads"},
        {"busy-poll",
         "busy-poll",
         {"TUNNEL_BUSY_POLL"},
         "MICROSECONDS",
         "50",
         "keep polling this long after traffic before sleeping (0: sleep at once)"},
        {"tls-insecure",
         "tls-insecure",
         {"TUNNEL_TLS_INSECURE"},
         "[BOOL]",
         "false",
         "do not verify the runner's TLS certificate (wss://)"},
        {"ca-file",
         "ca-file",
         {"TUNNEL_CA_FILE"},
         "PATH",
         "found: SSL_CERT_FILE/DIR, distro bundles",
         "trust only the CA certificates in this PEM file (wss://)"},
        {"tls-server-name",
         "tls-server-name",
         {"TUNNEL_TLS_SERVER_NAME"},
         "NAME",
         "the URL's host",
         "name sent as SNI and verified in the runner's certificate"},
        {"tls-cert",
         "tls-cert",
         {"TUNNEL_TLS_CERT"},
         "PATH",
         nullptr,
         "client certificate (PEM) for runners that require one, with --tls-key"},
        {"tls-key", "tls-key", {"TUNNEL_TLS_KEY"}, "PATH", nullptr, "private key (PEM) of --tls-cert"},
        {"header",
         "header,H",
         {"TUNNEL_HEADERS"},
         "'NAME: VALUE'",
         nullptr,
         "add a header to the upgrade request; repeatable (env: one per line)"},
        {"proxy",
         "proxy",
         {"TUNNEL_PROXY"},
         "URL",
         "https_proxy/http_proxy/all_proxy",
         "reach the runner through this HTTP proxy (http://[user:pass@]host:port)"},
        {"no-proxy", "no-proxy", {"TUNNEL_NO_PROXY"}, "[BOOL]", "false", "never use a proxy, whatever the environment says"},
        {"allow-ports",
         "allow-ports",
         {"TUNNEL_ALLOW_PORTS"},
         "LIST",
         "all",
         "local ports the runner may open, e.g. 22,8000-8999"},
        {"deny-ports",
         "deny-ports",
         {"TUNNEL_DENY_PORTS"},
         "LIST",
         "none",
         "local ports the runner may not open (wins over --allow-ports)"},
        {"max-connections",
         "max-connections",
         {"TUNNEL_MAX_CONNECTIONS"},
         "N",
         "0",
         "TCP connections and UDP flows open at once (0 = no limit)"},
        {"replace",
         "replace",
         {"TUNNEL_REPLACE"},
         "[BOOL]",
         "false",
         "take over from a client already running for this container id (it stops politely)"},
    };
    return table;
}

std::string usage_line() { return "Usage: tunnel-client --runner-url URL --container-id ID [options]"; }

std::string help_text() {
    std::ostringstream out;
    out << "tunnel-client " << TUNNEL_VERSION
        << ": lets the runner reach TCP and UDP services inside this container over one WebSocket.\n\n"
        << usage_line() << "\n\nOptions (command line beats environment):\n";
    for (auto const& s : specs()) {
        std::string flag = "  ";
        std::string const f = s.flags;
        auto const comma = f.find(',');
        if (comma != std::string::npos)
            flag += "-" + f.substr(comma + 1) + ", --" + f.substr(0, comma);
        else
            flag += "    --" + f;
        flag += std::string(" ") + s.value_name;
        if (flag.size() < 36) flag.resize(36, ' ');
        out << flag << s.help;
        std::string env;
        for (auto const* e : s.env) env += (env.empty() ? "" : ", ") + std::string(e);
        out << "\n" << std::string(36, ' ') << "[env " << env;
        if (s.default_text) out << "; default " << s.default_text;
        out << "]\n";
    }
    out << "  -h, --help                        show this help\n"
        << "  -V, --version                     show the version\n"
        << "\nCommands (ask the client running in this container):\n"
        << "  tunnel-client status [--json] [-c ID]   state, totals and open connections\n"
        << "  tunnel-client health [-c ID]            exit 0 when the tunnel is up, 1 when down, 3 when none runs\n";
    return out.str();
}

bool is_flag(std::string_view name) { return name == "tls-insecure" || name == "no-proxy" || name == "replace"; }

std::optional<bool> parse_bool(std::string text) {
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
    if (text == "0" || text == "false" || text == "no" || text == "off") return false;
    return std::nullopt;
}

parse_outcome bad_input(std::string const& what) {
    parse_outcome r;
    r.exit_code = 2;
    r.to_stderr = true;
    r.message = cli::usage_error_text("tunnel-client", what, usage_line());
    return r;
}

}  // namespace

parse_outcome parse_options(int argc, char const* const* argv, env_lookup const& getenv) {
    po::options_description desc;
    desc.add_options()("help,h", "")("version,V", "")("stray", po::value<std::vector<std::string>>(), "");
    for (auto const& s : specs()) {
        if (std::string_view(s.name) == "header") {
            desc.add_options()(s.flags, po::value<std::vector<std::string>>(), s.help);  // repeatable
            continue;
        }
        auto* value = po::value<std::string>();
        if (is_flag(s.name)) value->implicit_value("true");  // a bare flag
        desc.add_options()(s.flags, value, s.help);
    }

    po::variables_map vm;
    try {
        auto parsed =
            po::command_line_parser(argc, argv)
                .options(desc)
                .positional(po::positional_options_description{}.add("stray", -1))
                .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                .run();
        po::store(parsed, vm);
    } catch (po::error const& e) {
        return bad_input(e.what());
    }

    if (vm.count("stray"))
        return bad_input("unexpected argument '" + vm["stray"].as<std::vector<std::string>>().front() + "'");
    if (vm.count("help")) return parse_outcome{std::nullopt, 0, help_text(), false};
    if (vm.count("version"))
        return parse_outcome{std::nullopt, 0, std::string("tunnel-client ") + TUNNEL_VERSION + "\n", false};

    // Value and where it came from (for error messages), flag first, then each env variable.
    struct sourced {
        std::string value;
        std::string origin;
    };
    auto lookup = [&](char const* name) -> std::optional<sourced> {
        if (vm.count(name) && std::string_view(name) != "header")
            return sourced{vm[name].as<std::string>(), std::string("--") + name};
        for (auto const& s : specs()) {
            if (std::string_view(s.name) != name) continue;
            for (auto const* env : s.env) {
                char const* v = getenv ? getenv(env) : nullptr;
                if (v && *v) return sourced{v, env};
            }
        }
        return std::nullopt;
    };
    auto invalid = [](sourced const& s, char const* expected) {
        return bad_input("invalid value '" + s.value + "' for " + s.origin + ": expected " + expected);
    };

    app_config cfg;
    auto& c = cfg.client;

    auto url = lookup("runner-url");
    if (!url) return bad_input("missing runner URL: give --runner-url or set RUNNER_URL");
    auto id = lookup("container-id");
    if (!id) return bad_input("missing container id: give --container-id or set CONTAINER_ID");
    auto endpoint = make_runner_endpoint(url->value, id->value);
    if (auto const* err = std::get_if<std::string>(&endpoint)) return bad_input(*err);
    c.runner_url = url->value;
    c.container_id = id->value;
    c.endpoint = std::get<runner_endpoint>(endpoint);

    // Durations: non-negative seconds (decimals allowed). positive = zero is refused.
    struct duration_opt {
        char const* name;
        std::chrono::milliseconds* target;
        bool positive;
    };
    for (auto const& d : {duration_opt{"reconnect-delay", &c.backoff.base, false},
                          duration_opt{"max-reconnect-delay", &c.backoff.cap, false},
                          duration_opt{"connect-timeout", &c.connect_timeout, true},
                          duration_opt{"keepalive-timeout", &c.keepalive_timeout, true},
                          duration_opt{"udp-idle-timeout", &c.udp_idle_timeout, true},
                          duration_opt{"stall-timeout", &c.stall_timeout, true}}) {
        auto v = lookup(d.name);
        if (!v) continue;
        auto parsed = parse_seconds(v->value);
        if (!parsed || (d.positive && parsed->count() == 0))
            return invalid(*v,
                           d.positive ? "a positive number of seconds" : "a non-negative number of seconds");
        *d.target = *parsed;
    }
    if (c.backoff.cap < c.backoff.base) c.backoff.cap = c.backoff.base;

    if (auto v = lookup("max-reconnect")) {
        auto n = parse_count(v->value);
        if (!n) return invalid(*v, "a non-negative whole number");
        c.max_reconnect = static_cast<unsigned>(*n);
    }
    if (auto v = lookup("threads")) {
        auto n = parse_count(v->value);
        if (!n || *n < 1 || *n > 64) return invalid(*v, "a whole number from 1 to 64");
        c.threads = static_cast<unsigned>(*n);
    }
    if (auto v = lookup("busy-poll")) {
        auto n = parse_count(v->value);
        if (!n || *n > 1000) return invalid(*v, "a whole number of microseconds from 0 to 1000");
        cfg.busy_poll = std::chrono::microseconds(*n);
    }
    if (auto v = lookup("conn-buffer")) {
        auto n = parse_size(v->value);
        if (!n || *n < 64 * 1024) return invalid(*v, "a size of at least 64K (e.g. 4M)");
        c.conn_buffer = *n;
    }
    if (auto v = lookup("session-buffer")) {
        auto n = parse_size(v->value);
        if (!n || *n < c.conn_buffer) return invalid(*v, "a size of at least --conn-buffer (e.g. 64M)");
        c.session_buffer = *n;
        cfg.session_buffer_given = true;
    }
    for (auto const* name : {"allow-ports", "deny-ports"}) {
        auto v = lookup(name);
        if (!v) continue;
        auto ranges = parse_port_list(v->value);
        if (auto const* error = std::get_if<std::string>(&ranges))
            return bad_input("invalid value '" + v->value + "' for " + v->origin + ": " + *error);
        (std::string_view(name) == "allow-ports" ? c.ports.allow : c.ports.deny) =
            std::get<std::vector<port_range>>(std::move(ranges));
    }
    if (auto v = lookup("max-connections")) {
        auto n = parse_count(v->value);
        if (!n || *n > 1'000'000) return invalid(*v, "a whole number from 0 to 1000000");
        c.ports.max_connections = static_cast<std::size_t>(*n);
    }
    if (auto v = lookup("log-level")) {
        auto l = parse_log_level(v->value);
        if (!l) return invalid(*v, "trace, debug, info, warn, error or off");
        cfg.level = *l;
    }
    if (auto v = lookup("log-file")) {
        if (v->value.empty() || v->value.back() == '/') return invalid(*v, "a file path");
        cfg.log_file = log_file_options{v->value};
    }
    if (auto v = lookup("log-max-size")) {
        auto n = parse_size(v->value);
        if (!n || *n < 16 * 1024) return invalid(*v, "a size of at least 16K (e.g. 10M)");
        if (cfg.log_file) cfg.log_file->max_size = *n;
    }
    if (auto v = lookup("log-max-files")) {
        auto n = parse_count(v->value);
        if (!n || *n < 2 || *n > 1000) return invalid(*v, "a whole number from 2 to 1000");
        if (cfg.log_file) cfg.log_file->max_files = static_cast<unsigned>(*n);
    }
    if (auto v = lookup("log-format")) {
        auto f = parse_log_format(v->value);
        if (!f) return invalid(*v, "text or json");
        cfg.format = *f;
    }

    // How the runner is reached: checked here, files loaded when the client starts.
    reach_request reach;
    for (auto const* flag : {"tls-insecure", "no-proxy", "replace"}) {
        auto v = lookup(flag);
        if (!v) continue;
        auto b = parse_bool(v->value);
        if (!b) return invalid(*v, "true or false");
        std::string_view const name(flag);
        (name == "no-proxy" ? reach.no_proxy : name == "replace" ? cfg.replace : reach.tls_insecure) = *b;
    }
    struct path_opt {
        char const* name;
        std::string* target;
    };
    for (auto const& p : {path_opt{"ca-file", &reach.ca_file}, path_opt{"tls-server-name", &reach.tls_server_name},
                          path_opt{"tls-cert", &reach.tls_cert}, path_opt{"tls-key", &reach.tls_key}})
        if (auto v = lookup(p.name)) *p.target = v->value;
    if (vm.count("header"))
        reach.header_lines = vm["header"].as<std::vector<std::string>>();
    else if (auto v = lookup("header"))
        reach.header_list = v->value;
    if (auto v = lookup("proxy")) {
        reach.proxy = v->value;
        reach.proxy_origin = v->origin;
    }
    auto resolved = resolve_reach(reach, c.endpoint, getenv ? getenv : env_lookup([](char const*) -> char const* {
        return nullptr;
    }));
    if (auto const* error = std::get_if<std::string>(&resolved)) return bad_input(*error);
    c.reach = std::get<reach_config>(std::move(resolved));
    return parse_outcome{cfg, 0, {}, false};
}

}  // namespace tunnel::app
