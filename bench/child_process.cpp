#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace bench {

namespace asio = boost::asio;

namespace {

// Process groups of running children, for kill_all_children() from a signal handler.
std::array<std::atomic<pid_t>, 64> live_groups{};

void remember(pid_t pid) {
    for (auto& slot : live_groups) {
        pid_t expected = 0;
        if (slot.compare_exchange_strong(expected, pid)) return;
    }
}

void forget(pid_t pid) {
    for (auto& slot : live_groups) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0)) return;
    }
}

std::string find_in_path(std::string const& program) {
    if (program.find('/') != std::string::npos) return program;
    char const* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string const candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return program;
}

}  // namespace

child_process::child_process(std::vector<std::string> argv_store, std::string const& log_tag,
                             std::vector<std::string> const& extra_env) {
    if (argv_store.empty()) throw std::invalid_argument("empty command line");
    std::string tmpl = "/tmp/tunnel-bench-" + log_tag + "-XXXXXX";
    int const log_fd = ::mkstemp(tmpl.data());
    if (log_fd < 0) throw std::runtime_error("mkstemp failed for the child's log");
    log_path_ = tmpl;

    // Everything is prepared before fork: only async-signal-safe calls after it.
    std::string const path = find_in_path(argv_store.front());
    std::vector<char*> argv;
    for (auto& arg : argv_store) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store = extra_env;
    for (char** entry = environ; *entry; ++entry) {
        std::string_view const var(*entry);
        auto const name = var.substr(0, var.find('=') + 1);
        bool const replaced = std::any_of(extra_env.begin(), extra_env.end(),
                                          [&](std::string const& e) { return e.rfind(name, 0) == 0; });
        if (!replaced) env_store.emplace_back(var);
    }
    std::vector<char*> envp;
    for (auto& var : env_store) envp.push_back(var.data());
    envp.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(log_fd);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        ::setpgid(0, 0);  // its own group: stop() reaches whatever it forks (socat's children)
        int const devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        // Only 0, 1, 2 go to the child: the harness's sockets must not leak into it.
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        ::execve(path.c_str(), argv.data(), envp.data());
        static char const message[] = "tunnel-bench: exec failed: ";
        ::write(2, message, sizeof message - 1);
        ::write(2, path.c_str(), path.size());
        ::write(2, "\n", 1);
        ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also from the parent, so that the group exists before any kill
    ::close(log_fd);
    remember(pid_);
}

child_process::~child_process() {
    if (pid_ > 0 && !poll_exit()) {
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        forget(pid_);
    }
    if (!keep_log_) ::unlink(log_path_.c_str());
}

std::string child_process::log_tail(std::size_t max_bytes) const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text.size() > max_bytes ? "..." + text.substr(text.size() - max_bytes) : text;
}

std::optional<int> child_process::poll_exit() {
    if (exit_code_ || pid_ <= 0) return exit_code_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : -1;
        forget(pid_);
    }
    return exit_code_;
}

asio::awaitable<int> child_process::stop(std::chrono::milliseconds grace) {
    if (auto code = poll_exit()) co_return *code;
    ::kill(-pid_, SIGTERM);
    auto const deadline = std::chrono::steady_clock::now() + grace;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!poll_exit() && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (auto code = poll_exit()) {
        ::kill(-pid_, SIGKILL);  // stragglers of the group (socat's forked children)
        co_return *code;
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = 128 + SIGKILL;
    forget(pid_);
    co_return *exit_code_;
}

unsigned long raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

void kill_all_children() {
    for (auto& slot : live_groups) {
        pid_t const pid = slot.load();
        if (pid > 0) ::kill(-pid, SIGKILL);
    }
}

std::vector<std::string> split_command(std::string const& command) {
    std::vector<std::string> out;
    std::istringstream words(command);
    std::string word;
    while (words >> word) out.push_back(word);
    return out;
}

bool program_exists(std::string const& program) {
    std::string const path = find_in_path(program);
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace bench
