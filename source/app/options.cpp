#include "app/options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <map>
#include <vector>

#include "app/help_layout.hpp"
#include "app/option_values.hpp"
#include "app/target_arch.hpp"
#include "cli/parse.hpp"
#include "tunnel/reach.hpp"

namespace tunnel::app {

namespace po = boost::program_options;

namespace {

// ---- The options: flags, environment variables, values, defaults and help, by --help group ----

struct option_row;
using value_maker = po::value_semantic* (*)(option_row const&);

struct option_row {
    char const* flags;             // Program_options' spelling: "runner-url,r"
    std::vector<char const*> env;  // its variables: the first one beats the second
    value_maker value;             // its typed value (below)
    char const* value_name;
    char const* default_value;  // written as a user would write it; nullptr: none
    char const* default_note;   // without a default value: what applies instead (for --help)
    char const* help;
};

template <class T>
po::typed_value<T>* value_with_default(option_row const& row) {
    auto* v = po::value<T>()->value_name(row.value_name);
    // (The default is shown in the help text with the variables, not after the value's name.)
    if (row.default_value) v->default_value(parse_value<T>(row.default_value), "");
    return v;
}
template <class T>
po::value_semantic* typed(option_row const& row) {
    return value_with_default<T>(row);
}
po::value_semantic* text(option_row const& row) {
    return po::value<std::string>()->value_name(row.value_name);
}
po::value_semantic* repeatable_text(option_row const& row) {
    return po::value<std::vector<std::string>>()->value_name(row.value_name);
}
// On the command line a bare --flag is true; --flag=false also works.
po::value_semantic* flag(option_row const& row) {
    return value_with_default<switch_value>(row)->implicit_value(switch_value{true}, "");
}

// The ranges that are part of a value's type (the mapping below reads each back by its type).
using reconnect_count = whole_number<0>;
using thread_count = whole_number<1, 64>;
using busy_poll_micros = whole_number<0, 1000>;
using connection_count = whole_number<0, 1'000'000>;
using log_file_count = whole_number<2, 1000>;
using conn_buffer_size = byte_size<64 * 1024>;
using session_buffer_size = byte_size<>;  // checked against --conn-buffer once both are known
using log_file_size = byte_size<16 * 1024>;

struct option_group {
    char const* caption;
    std::vector<option_row> rows;
};

// A table, one option per row.
// clang-format off
std::vector<option_group> const& option_groups() {
    static std::vector<option_group> const groups = {
        {"Runner",
         {
             {"runner-url,r", {"RUNNER_URL", "KOHAKURIVER_TUNNEL_URL"}, text, "URL", nullptr, nullptr,
              "runner WebSocket URL (ws:// or wss://; http(s):// accepted)"},
             {"container-id,c", {"CONTAINER_ID", "KOHAKURIVER_CONTAINER_ID"}, text, "ID", nullptr, nullptr,
              "container ID or name"},
             {"header,H", {"TUNNEL_HEADERS"}, repeatable_text, "'NAME: VALUE'", nullptr, nullptr,
              "add a header to the upgrade request; repeatable (variable: one per line)"},
             {"reconnect-delay", {"RECONNECT_DELAY"}, typed<seconds_value>, "SECONDS", "5", nullptr,
              "first delay between reconnect attempts; doubles with jitter"},
             {"max-reconnect-delay", {"TUNNEL_MAX_RECONNECT_DELAY"}, typed<seconds_value>, "SECONDS", "60",
              nullptr, "cap of the reconnect delay"},
             {"max-reconnect", {"MAX_RECONNECT"}, typed<reconnect_count>, "N", "0", nullptr,
              "give up after N consecutive failed attempts (0 = never)"},
             {"connect-timeout", {"TUNNEL_CONNECT_TIMEOUT"}, typed<positive_seconds>, "SECONDS", "10",
              nullptr, "limit for TCP connect + TLS + WebSocket handshake to the runner"},
             {"keepalive-timeout", {"TUNNEL_KEEPALIVE_TIMEOUT"}, typed<positive_seconds>, "SECONDS", "30",
              nullptr, "a runner silent this long is dead (pinged at half)"},
         }},
        {"TLS and proxy",
         {
             {"tls-insecure", {"TUNNEL_TLS_INSECURE"}, flag, "[=BOOL]", "false", nullptr,
              "do not verify the runner's TLS certificate (wss://)"},
             {"ca-file", {"TUNNEL_CA_FILE"}, text, "PATH", nullptr, "SSL_CERT_FILE/DIR, distro bundles",
              "trust only the CA certificates in this PEM file (wss://)"},
             {"tls-server-name", {"TUNNEL_TLS_SERVER_NAME"}, text, "NAME", nullptr, "the URL's host",
              "name sent as SNI and verified in the runner's certificate"},
             {"tls-cert", {"TUNNEL_TLS_CERT"}, text, "PATH", nullptr, nullptr,
              "client certificate (PEM) for runners that require one, with --tls-key"},
             {"tls-key", {"TUNNEL_TLS_KEY"}, text, "PATH", nullptr, nullptr,
              "private key (PEM) of --tls-cert"},
             {"proxy", {"TUNNEL_PROXY"}, text, "URL", nullptr, "https_proxy/http_proxy/all_proxy",
              "reach the runner through this HTTP proxy (http://[user:pass@]host:port)"},
             {"no-proxy", {"TUNNEL_NO_PROXY"}, flag, "[=BOOL]", "false", nullptr,
              "never use a proxy, whatever the environment says"},
         }},
        {"Limits",
         {
             {"allow-ports", {"TUNNEL_ALLOW_PORTS"}, typed<port_list>, "LIST", nullptr, "all",
              "local ports the runner may open, e.g. 22,8000-8999"},
             {"deny-ports", {"TUNNEL_DENY_PORTS"}, typed<port_list>, "LIST", nullptr, "none",
              "local ports the runner may not open (wins over --allow-ports)"},
             {"max-connections", {"TUNNEL_MAX_CONNECTIONS"}, typed<connection_count>, "N", "0", nullptr,
              "TCP connections and UDP flows open at once (0 = no limit)"},
             {"conn-buffer", {"TUNNEL_CONN_BUFFER"}, typed<conn_buffer_size>, "BYTES", "4M", nullptr,
              "bytes queued for one local connection before the tunnel waits (K/M/G suffix)"},
             {"session-buffer", {"TUNNEL_SESSION_BUFFER"}, typed<session_buffer_size>, "BYTES", nullptr,
              "1/8 of the memory limit, 4M-64M",
              "bytes queued for all local connections together before the tunnel waits "
              "(at least --conn-buffer)"},
             {"udp-idle-timeout", {"TUNNEL_UDP_IDLE_TIMEOUT"}, typed<positive_seconds>, "SECONDS", "60",
              nullptr, "close a UDP flow after this long without traffic"},
             {"stall-timeout", {"TUNNEL_STALL_TIMEOUT"}, typed<positive_seconds>, "SECONDS", "10", nullptr,
              "close a connection whose full buffer holds the tunnel this long"},
         }},
        {"Tuning",
         {
             {"threads", {"TUNNEL_THREADS"}, typed<thread_count>, "N", "1", nullptr, "I/O threads (1 to 64)"},
             {"busy-poll", {"TUNNEL_BUSY_POLL"}, typed<busy_poll_micros>, "MICROSECONDS", "50", nullptr,
              "poll this long after an event before sleeping, while events come back to back (0: never; at most 1000)"},
         }},
        {"Logs",
         {
             {"log-level", {"LOG_LEVEL"}, typed<level_value>, "LEVEL", "info", nullptr,
              "trace, debug, info, warn, error or off"},
             {"log-format", {"TUNNEL_LOG_FORMAT"}, typed<format_value>, "FORMAT", "text", nullptr,
              "text or json"},
             {"log-file", {"TUNNEL_LOG_FILE"}, typed<file_path>, "PATH", nullptr, "stderr",
              "write the log to this file, rotated by size; SIGHUP reopens it"},
             {"log-max-size", {"TUNNEL_LOG_MAX_SIZE"}, typed<log_file_size>, "BYTES", "10M", nullptr,
              "rotate the log file at this size (at least 16K)"},
             {"log-max-files", {"TUNNEL_LOG_MAX_FILES"}, typed<log_file_count>, "N", "3", nullptr,
              "log files kept, the current one included (2 to 1000)"},
         }},
        {"Control",
         {
             {"replace", {"TUNNEL_REPLACE"}, flag, "[=BOOL]", "false", nullptr,
              "take over from a client already running for this container id (it stops politely)"},
         }},
    };
    return groups;
}
// clang-format on

// "text", then on a line of its own "[env A, B; default X]"
std::string help_of(option_row const& row) {
    std::string env;
    for (auto const* name : row.env) env += (env.empty() ? "" : ", ") + std::string(name);
    std::string text = std::string(row.help) + "\n[env " + env;
    if (row.default_value) text += std::string("; default ") + row.default_value;
    if (row.default_note) text += std::string("; default: ") + row.default_note;
    return text + "]";
}

// Every option, built once per parse: the --help groups, everything the parser accepts, and
// which option each environment variable sets.
class option_table {
public:
    option_table() : shown_(help_width, help_width / 2), parsed_(help_width, help_width / 2) {
        for (auto const& group : option_groups()) {
            po::options_description d(group.caption, help_width, help_width / 2);
            for (auto const& row : group.rows) {
                d.add_options()(row.flags, row.value(row), help_of(row).c_str());
                std::string const name = std::string(row.flags).substr(0, std::string(row.flags).find(','));
                for (std::size_t rank = 0; rank < std::min(row.env.size(), ranks); ++rank)
                    variables_[rank][row.env[rank]] = name;
            }
            shown_.add(d);
        }
        po::options_description other("Other", help_width, help_width / 2);
        other.add_options()("help,h", "show this help")("version,V", "show the version");
        shown_.add(other);
        parsed_.add(shown_).add_options()("stray", po::value<std::vector<std::string>>());
    }

    po::options_description const& shown() const { return shown_; }
    po::options_description const& parsed() const { return parsed_; }
    // rank 0: each option's first variable; rank 1: the fallbacks. Variable -> option.
    std::map<std::string, std::string> const& variables(std::size_t rank) const { return variables_[rank]; }
    static constexpr std::size_t ranks = 2;

private:
    static constexpr unsigned help_width = 100;
    po::options_description shown_;
    po::options_description parsed_;
    std::map<std::string, std::string> variables_[ranks];
};

// ---- Reading them ----

std::string usage_line() { return "Usage: tunnel-client --runner-url URL --container-id ID [options]"; }

constexpr char const* precedence_note =
    "Each option may come from its environment variable instead; a flag beats its variable, and a\n"
    "first variable beats the second. An empty variable counts as unset.\n";

constexpr char const* commands_note =
    "\nCommands (ask the client running in this container):\n"
    "  tunnel-client status [--json] [-c ID]   state, totals and open connections\n"
    "  tunnel-client health [-c ID]            exit 0 when the tunnel is up, 1 when down, 3 when none\n"
    "                                          runs, 5 when the running one could not be asked\n";

// Where the package installs the rest (the manual page, made from this text, says it too).
constexpr char const* documentation_note =
    "\nDocumentation: /usr/share/doc/tunnel-client/ (README.md and docs/)\n";

std::string help_text(option_table const& table) {
    return "tunnel-client " TUNNEL_VERSION
           ": lets the runner reach TCP and UDP services inside this container over one WebSocket.\n\n" +
           usage_line() + "\n\n" + precedence_note + help_layout(table.shown()) + commands_note +
           documentation_note;
}

parse_outcome bad_input(std::string const& what) {
    return parse_outcome{std::nullopt, 2, cli::usage_error_text("tunnel-client", what, usage_line()), true};
}

// Where a stored option came from ("--threads", "TUNNEL_THREADS") and the text given there: for
// the checks made after storing, and the log.
struct origin {
    std::string where;
    std::string text;
};
using origins = std::map<std::string, origin>;

// Stores what `parsed` holds that no earlier source gave (Program_options keeps the first value).
void store(po::parsed_options const& parsed, std::string const& prefix, po::variables_map& vm, origins& from,
           std::map<std::string, std::string> const* variable_of = nullptr) {
    po::store(parsed, vm);
    for (auto const& o : parsed.options) {
        auto const where = variable_of ? variable_of->at(o.string_key) : prefix + o.string_key;
        from.emplace(o.string_key, origin{where, o.value.empty() ? std::string() : o.value.front()});
    }
}

// The environment variables of one rank, stored after the command line and the ranks before.
void store_environment(option_table const& table, std::size_t rank, po::variables_map& vm, origins& from) {
    auto const& option_of = table.variables(rank);
    std::map<std::string, std::string> variable_of;
    for (auto const& [variable, option] : option_of) variable_of[option] = variable;
    auto parsed = po::parse_environment(table.parsed(), [&](std::string const& variable) {
        auto const it = option_of.find(variable);
        return it == option_of.end() ? std::string() : it->second;
    });
    // FOO= counts as unset, as for most programs that read the environment.
    std::erase_if(parsed.options,
                  [](po::option const& o) { return o.value.empty() || o.value.front().empty(); });
    try {
        store(parsed, {}, vm, from, &variable_of);
    } catch (po::error_with_option_name& e) {
        // Name the variable the user set, not the option.
        if (auto const it = variable_of.find(e.get_option_name()); it != variable_of.end())
            e.set_option_name(it->second);
        throw;
    }
}

template <class T>
auto value_of(po::variables_map const& vm, char const* name) {
    return vm[name].as<T>().value;
}

// ---- From the values to the config ----

parse_outcome to_config(po::variables_map const& vm, origins const& from) {
    app_config cfg;
    auto& c = cfg.client;

    if (!vm.count("runner-url")) return bad_input("missing runner URL: give --runner-url or set RUNNER_URL");
    if (!vm.count("container-id"))
        return bad_input("missing container id: give --container-id or set CONTAINER_ID");
    c.runner_url = vm["runner-url"].as<std::string>();
    c.container_id = vm["container-id"].as<std::string>();
    auto endpoint = make_runner_endpoint(c.runner_url, c.container_id);
    if (auto const* err = std::get_if<std::string>(&endpoint)) return bad_input(*err);
    c.endpoint = std::get<runner_endpoint>(endpoint);

    c.backoff.base = value_of<seconds_value>(vm, "reconnect-delay");
    c.backoff.cap = std::max(value_of<seconds_value>(vm, "max-reconnect-delay"), c.backoff.base);
    c.max_reconnect = static_cast<unsigned>(value_of<reconnect_count>(vm, "max-reconnect"));
    c.connect_timeout = value_of<positive_seconds>(vm, "connect-timeout");
    c.keepalive_timeout = value_of<positive_seconds>(vm, "keepalive-timeout");
    c.udp_idle_timeout = value_of<positive_seconds>(vm, "udp-idle-timeout");
    c.stall_timeout = value_of<positive_seconds>(vm, "stall-timeout");

    c.threads = static_cast<unsigned>(value_of<thread_count>(vm, "threads"));
    cfg.busy_poll = std::chrono::microseconds(value_of<busy_poll_micros>(vm, "busy-poll"));
    c.conn_buffer = value_of<conn_buffer_size>(vm, "conn-buffer");
    if (vm.count("session-buffer")) {
        c.session_buffer = value_of<session_buffer_size>(vm, "session-buffer");
        if (c.session_buffer < c.conn_buffer) {
            auto const& o = from.at("session-buffer");
            return bad_input("invalid value '" + o.text + "' for " + o.where +
                             ": expected a size of at least --conn-buffer (" + size_text(c.conn_buffer) +
                             ")");
        }
        cfg.session_buffer_given = true;
    }
    if (vm.count("allow-ports")) c.ports.allow = value_of<port_list>(vm, "allow-ports");
    if (vm.count("deny-ports")) c.ports.deny = value_of<port_list>(vm, "deny-ports");
    c.ports.max_connections = value_of<connection_count>(vm, "max-connections");

    cfg.level = value_of<level_value>(vm, "log-level");
    cfg.format = value_of<format_value>(vm, "log-format");
    if (vm.count("log-file"))
        cfg.log_file =
            log_file_options{value_of<file_path>(vm, "log-file"), value_of<log_file_size>(vm, "log-max-size"),
                             static_cast<unsigned>(value_of<log_file_count>(vm, "log-max-files"))};
    cfg.replace = value_of<switch_value>(vm, "replace");

    // How the runner is reached: checked here, files loaded when the client starts.
    reach_request reach;
    reach.tls_insecure = value_of<switch_value>(vm, "tls-insecure");
    reach.no_proxy = value_of<switch_value>(vm, "no-proxy");
    for (auto const& [name, target] : {std::pair{"ca-file", &reach.ca_file},
                                       {"tls-server-name", &reach.tls_server_name},
                                       {"tls-cert", &reach.tls_cert},
                                       {"tls-key", &reach.tls_key}})
        if (vm.count(name)) *target = vm[name].as<std::string>();
    if (vm.count("header")) {
        auto const& headers = vm["header"].as<std::vector<std::string>>();
        if (from.at("header").where == "TUNNEL_HEADERS")
            reach.header_list = headers.front();  // one header per line
        else
            reach.header_lines = headers;
    }
    if (vm.count("proxy")) {
        reach.proxy = vm["proxy"].as<std::string>();
        reach.proxy_origin = from.at("proxy").where;
    }
    // The proxy variables (http_proxy, NO_PROXY, ...) are read as curl reads them.
    auto resolved = resolve_reach(reach, c.endpoint, [](char const* name) { return std::getenv(name); });
    if (auto const* error = std::get_if<std::string>(&resolved)) return bad_input(*error);
    c.reach = std::get<reach_config>(std::move(resolved));
    return parse_outcome{cfg, 0, {}, false};
}

}  // namespace

parse_outcome parse_options(int argc, char const* const* argv) {
    option_table const table;
    po::variables_map vm;
    origins from;
    try {
        auto const style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        store(po::command_line_parser(argc, argv)
                  .options(table.parsed())
                  .positional(po::positional_options_description{}.add("stray", -1))
                  .style(style)
                  .run(),
              "--", vm, from);
    } catch (po::error const& e) {
        return bad_input(e.what());
    }
    if (vm.count("stray"))
        return bad_input("unexpected argument '" + vm["stray"].as<std::vector<std::string>>().front() + "'");
    if (vm.count("help")) return parse_outcome{std::nullopt, 0, help_text(table), false};
    if (vm.count("version"))
        return parse_outcome{std::nullopt, 0,
                             "tunnel-client " TUNNEL_VERSION " (linux-" TUNNEL_TARGET_ARCH ")\n", false};

    try {
        for (std::size_t rank = 0; rank < option_table::ranks; ++rank)
            store_environment(table, rank, vm, from);
        po::notify(vm);
    } catch (po::error const& e) {
        return bad_input(e.what());
    }
    return to_config(vm, from);
}

}  // namespace tunnel::app
