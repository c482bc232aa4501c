#pragma once
// Command line + environment -> app_config, through Program_options: a flag beats its environment
// variable, a first variable beats a fallback (KOHAKURIVER_*), and empty variables count as unset.
// Reads the process environment; prints nothing.

#include <chrono>
#include <optional>
#include <string>

#include "log/logging.hpp"
#include "tunnel/config.hpp"

namespace tunnel::app {

struct app_config {
    client_config client;
    log_level level = log_level::info;
    log_format format = log_format::text;
    bool session_buffer_given = false;         // else derived from the container's memory limit
    std::optional<log_file_options> log_file;  // else stderr
    bool replace = false;  // take over from a client already running for this container id
    // How long the event loop keeps polling after its last event before it sleeps (app/event_loop.hpp).
    std::chrono::microseconds busy_poll{50};
};

// Either a config to run, or something to print and an exit code (help, version, bad input).
struct parse_outcome {
    std::optional<app_config> config;
    int exit_code = 0;
    std::string message;  // printed as is
    bool to_stderr = false;
};

parse_outcome parse_options(int argc, char const* const* argv);

}  // namespace tunnel::app
