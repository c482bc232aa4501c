#include "app/commands.hpp"

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "control/ask.hpp"
#include "control/endpoint.hpp"
#include "control/messages.hpp"

namespace tunnel::app {

namespace {
constexpr std::chrono::milliseconds ask_deadline{5000};

constexpr char const* status_usage = "Usage: tunnel-client status [--json] [-c ID]";
constexpr char const* health_usage = "Usage: tunnel-client health [-c ID]";

int usage_error(std::ostream& err, char const* usage, std::string const& what) {
    err << "tunnel-client: " << what << "\n" << usage << "\n";
    return 2;
}

struct target {
    std::vector<std::string> names;  // endpoints to ask
    int exit_code = 0;               // when no name: why
    std::string message;
};

// The endpoints to ask: the one of -c ID, else every client listening here.
target pick(std::optional<std::string> const& id, bool allow_several) {
    if (id) return {{control::endpoint_name(*id)}, 0, {}};
    auto found = control::find_listening_endpoints();
    if (!found) {
        for (char const* env : {"CONTAINER_ID", "KOHAKURIVER_CONTAINER_ID"})
            if (char const* value = std::getenv(env); value && *value)
                return {{control::endpoint_name(value)}, 0, {}};
        return {{}, 2, "cannot list the running clients (/proc/net/unix is not readable): give -c ID"};
    }
    if (found->empty()) return {{}, 3, "no tunnel-client is running here"};
    if (found->size() > 1 && !allow_several) {
        std::string ids;
        for (auto const& name : *found)
            ids += (ids.empty() ? "" : ", ") + control::display_name(name).substr(sizeof "@tunnel-client/" - 1);
        return {{}, 2, "several tunnel-clients run (" + ids + "): pick one with -c ID"};
    }
    return {std::move(*found), 0, {}};
}

struct asked {
    int exit_code = 0;  // 0: answer holds a good answer
    std::string answer;
    std::string message;
};

asked ask_status(std::string const& name, std::optional<std::string> const& id) {
    auto const r = control::ask(name, R"({"cmd":"status"})", ask_deadline);
    switch (r.kind) {
        case control::ask_result::outcome::nobody:
            return {3, {}, "no tunnel-client is running" + (id ? " for container " + *id : std::string(" here"))};
        case control::ask_result::outcome::failed:
            return {1, {}, "no answer from " + control::display_name(name) + ": " + r.reason};
        case control::ask_result::outcome::answered: break;
    }
    if (auto const error = control::answer_error(r.answer); !error.empty())
        return {1, {}, control::display_name(name) + " refused: " + error};
    return {0, r.answer, {}};
}

// What status and health accept: -c/--container-id ID, -h, and for status --json.
struct command_args {
    bool json = false;
    bool help = false;
    std::optional<std::string> id;
    std::string error;  // a usage error, when not empty
};

command_args parse_args(std::vector<std::string_view> const& args, bool json_allowed) {
    command_args r;
    for (std::size_t i = 0; i < args.size() && r.error.empty(); ++i) {
        auto const a = args[i];
        if (a == "-h" || a == "--help") {
            r.help = true;
        } else if (a == "--json" && json_allowed) {
            r.json = true;
        } else if (a == "-c" || a == "--container-id") {
            if (i + 1 >= args.size())
                r.error = std::string(a) + " needs an ID";
            else
                r.id = std::string(args[++i]);
        } else if (a.starts_with("--container-id=")) {
            r.id = std::string(a.substr(sizeof "--container-id=" - 1));
        } else {
            r.error = "unknown argument '" + std::string(a) + "'";
        }
    }
    return r;
}

int status_command(std::vector<std::string_view> const& args, std::ostream& out, std::ostream& err) {
    auto const a = parse_args(args, true);
    if (!a.error.empty()) return usage_error(err, status_usage, a.error);
    if (a.help) {
        out << status_usage << "\n\nShows the running client's state, totals and open connections.\n"
            << "  --json                  one JSON object per client, on one line\n"
            << "  -c, --container-id ID   the client of this container id (when several run)\n"
            << "Exit codes: 0 a client answered, 1 it did not answer, 2 bad usage, 3 none runs.\n";
        return 0;
    }
    auto const chosen = pick(a.id, true);
    if (chosen.names.empty()) {
        err << "tunnel-client: " << chosen.message << "\n";
        return chosen.exit_code;
    }
    int exit_code = 0;
    bool first = true;
    for (auto const& name : chosen.names) {
        auto const r = ask_status(name, a.id);
        if (r.exit_code != 0) {
            err << "tunnel-client: " << r.message << "\n";
            // One of several that went away meanwhile is not "none runs".
            exit_code = std::max(exit_code, r.exit_code == 3 && chosen.names.size() > 1 ? 1 : r.exit_code);
            continue;
        }
        if (a.json) {
            out << r.answer << "\n";
        } else {
            if (!first) out << "\n";
            out << control::render_status(r.answer);
        }
        first = false;
    }
    return exit_code;
}

int health_command(std::vector<std::string_view> const& args, std::ostream& out, std::ostream& err) {
    auto const a = parse_args(args, false);
    if (!a.error.empty()) return usage_error(err, health_usage, a.error);
    if (a.help) {
        out << health_usage << "\n\nFor a HEALTHCHECK: is the tunnel up? One line on stdout.\n"
            << "  -c, --container-id ID   the client of this container id (when several run)\n"
            << "Exit codes: 0 up, 1 a client runs but the tunnel is down, 2 bad usage, 3 none runs.\n";
        return 0;
    }
    auto const chosen = pick(a.id, false);
    if (chosen.names.empty()) {
        if (chosen.exit_code == 3) {
            out << chosen.message << "\n";
        } else {
            err << "tunnel-client: " << chosen.message << "\n";
        }
        return chosen.exit_code;
    }
    auto const r = ask_status(chosen.names.front(), a.id);
    if (r.exit_code != 0) {
        out << r.message << "\n";
        return r.exit_code;
    }
    auto const verdict = control::health_of(r.answer);
    out << verdict.line << "\n";
    return verdict.exit_code;
}
}  // namespace

std::optional<int> run_command(int argc, char const* const* argv, std::ostream& out, std::ostream& err) {
    if (argc < 2) return std::nullopt;
    std::string_view const command = argv[1];
    if (command != "status" && command != "health") return std::nullopt;
    std::vector<std::string_view> args(argv + 2, argv + argc);
    return command == "status" ? status_command(args, out, err) : health_command(args, out, err);
}

}  // namespace tunnel::app
