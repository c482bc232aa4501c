#include "app/commands.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/help_layout.hpp"
#include "control/ask.hpp"
#include "control/endpoint.hpp"
#include "control/messages.hpp"

namespace tunnel::app {

namespace po = boost::program_options;

namespace {
// All the asking, retries of a busy endpoint included, fits in this.
constexpr std::chrono::milliseconds ask_budget{5000};

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
    if (found->empty()) return {{}, none_runs, "no tunnel-client is running here"};
    if (found->size() > 1 && !allow_several) {
        std::string ids;
        for (auto const& name : *found)
            ids +=
                (ids.empty() ? "" : ", ") + control::display_name(name).substr(sizeof "@tunnel-client/" - 1);
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
    auto const r = control::ask_until_served(name, R"({"cmd":"status"})", ask_budget);
    auto const cannot = [&](std::string const& why) {
        return asked{could_not_ask, {}, "could not ask " + control::display_name(name) + ": " + why};
    };
    switch (r.kind) {
        case control::ask_result::outcome::nobody:
            return {none_runs,
                    {},
                    "no tunnel-client is running" + (id ? " for container " + *id : std::string(" here"))};
        case control::ask_result::outcome::busy:
        case control::ask_result::outcome::failed:
            return cannot(r.reason);
        case control::ask_result::outcome::answered:
            break;
    }
    if (auto const error = control::answer_error(r.answer); !error.empty()) return cannot(error);
    return {0, r.answer, {}};
}

// ---- The commands' arguments ----

struct command_args {
    bool json = false;
    bool help = false;
    std::optional<std::string> id;
};

struct command_spec {
    char const* usage;
    char const* summary;
    char const* exit_codes;
    bool json;  // accepts --json
};

command_spec const status_spec{"Usage: tunnel-client status [--json] [-c ID]",
                               "Shows the running client's state, totals and open connections.",
                               "Exit codes: 0 every client answered, 2 bad usage, 3 none runs, 5 a client "
                               "could not be asked (busy after\n"
                               "retries, no answer in time, or permission denied).\n",
                               true};
command_spec const health_spec{
    "Usage: tunnel-client health [-c ID]", "For a HEALTHCHECK: is the tunnel up? One line on stdout.",
    "Exit codes: 0 up, 1 the client answered and the tunnel is down, 2 bad usage, 3 none runs, 5 the client\n"
    "could not be asked (busy after retries, no answer in time, or permission denied).\n",
    false};

po::options_description options_of(command_spec const& spec) {
    po::options_description d(100, 50);
    if (spec.json) d.add_options()("json", po::bool_switch(), "one JSON object per client, on one line");
    d.add_options()("container-id,c", po::value<std::string>()->value_name("ID"),
                    "the client of this container id (when several run)")("help,h", "show this help");
    return d;
}

std::string help_of(command_spec const& spec) {
    return std::string(spec.usage) + "\n\n" + spec.summary + "\n" + help_layout(options_of(spec)) +
           spec.exit_codes;
}

// args: the command's name, then its arguments. Either the arguments or a usage error's text.
std::variant<command_args, std::string> parse_args(std::vector<char const*> const& args,
                                                   command_spec const& spec) {
    po::options_description accepted = options_of(spec);
    accepted.add_options()("stray", po::value<std::vector<std::string>>());
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(static_cast<int>(args.size()), args.data())
                      .options(accepted)
                      .positional(po::positional_options_description{}.add("stray", -1))
                      .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                      .run(),
                  vm);
    } catch (po::unknown_option const& e) {
        return "unknown argument '" + e.get_option_name() + "'";
    } catch (po::invalid_command_line_syntax const& e) {
        if (e.kind() == po::invalid_command_line_syntax::missing_parameter)
            return e.get_option_name() + " needs an ID";
        return std::string(e.what());
    } catch (po::error const& e) {
        return std::string(e.what());
    }
    if (vm.count("stray"))
        return "unknown argument '" + vm["stray"].as<std::vector<std::string>>().front() + "'";
    command_args r;
    r.help = vm.count("help") > 0;
    r.json = vm.count("json") && vm["json"].as<bool>();
    if (vm.count("container-id")) r.id = vm["container-id"].as<std::string>();
    return r;
}

int usage_error(std::ostream& err, command_spec const& spec, std::string const& what) {
    err << "tunnel-client: " << what << "\n" << spec.usage << "\n";
    return 2;
}

// ---- The commands ----

int status_command(command_args const& a, std::ostream& out, std::ostream& err) {
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
            exit_code = std::max(
                exit_code, r.exit_code == none_runs && chosen.names.size() > 1 ? could_not_ask : r.exit_code);
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

int health_command(command_args const& a, std::ostream& out, std::ostream& err) {
    auto const chosen = pick(a.id, false);
    if (chosen.names.empty()) {
        if (chosen.exit_code == none_runs) {
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
    auto const& spec = command == "status" ? status_spec : health_spec;
    auto const parsed = parse_args(std::vector<char const*>(argv + 1, argv + argc), spec);
    if (auto const* error = std::get_if<std::string>(&parsed)) return usage_error(err, spec, *error);
    auto const& args = std::get<command_args>(parsed);
    if (args.help) {
        out << help_of(spec);
        return 0;
    }
    return command == "status" ? status_command(args, out, err) : health_command(args, out, err);
}

}  // namespace tunnel::app
