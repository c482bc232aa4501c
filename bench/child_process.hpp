#pragma once
// A measured program (a tunnel client, or socat for the relay baseline) as a child process:
// fork/exec in its own process group, stdin from /dev/null, stdout+stderr to a temp log file.
// Stopping it sends SIGTERM to the group, then SIGKILL if it is still there after a grace period.

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace bench {

class child_process {
public:
    // argv[0] is looked up in PATH when it has no '/'. The child gets the harness's environment with
    // `extra_env` ("NAME=value") added or replacing. Throws when fork or the log file fails.
    child_process(std::vector<std::string> argv, std::string const& log_tag,
                  std::vector<std::string> const& extra_env = {});
    ~child_process();  // SIGKILL to the group if still running; the log is removed unless kept
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    pid_t pid() const { return pid_; }
    std::string const& log_path() const { return log_path_; }
    std::string log_tail(std::size_t max_bytes = 2000) const;
    void keep_log() { keep_log_ = true; }

    // Exit status once it has ended (128+N for signal N), nullopt while it runs.
    std::optional<int> poll_exit();
    // SIGTERM to the group, wait up to grace (polling, so the io_context keeps running: a client
    // closing its tunnel politely needs the harness to answer), then SIGKILL.
    boost::asio::awaitable<int> stop(std::chrono::milliseconds grace);

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string log_path_;
    bool keep_log_ = false;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit (children inherit it); returns the new limit.
unsigned long raise_fd_limit();

// Kills every child still running (for SIGINT/SIGTERM of the harness). Async-signal-safe.
void kill_all_children();

// Splits a command line on spaces (no quoting).
std::vector<std::string> split_command(std::string const& command);

// True when `program` is an executable file, or found in PATH.
bool program_exists(std::string const& program);

}  // namespace bench
