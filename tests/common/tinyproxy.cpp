#include "tinyproxy.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "harness.hpp"

namespace tunnel::test {

namespace {

std::size_t count_of(std::string const& text, std::string const& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

// A descriptor that becomes readable when process pid ends (Linux pidfd).
int process_fd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits for an event on any of fds (a file in a watched directory changed, a process ended), at
// most until deadline; drains inotify events so the next wait blocks again.
void wait_for_event(std::initializer_list<int> fds, std::chrono::steady_clock::time_point deadline) {
    std::vector<pollfd> polled;
    for (int fd : fds)
        if (fd >= 0) polled.push_back({fd, POLLIN, 0});
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    ::poll(polled.data(), polled.size(), static_cast<int>(std::max<std::int64_t>(0, left.count())));
}

void drain(int inotify_fd) {
    alignas(inotify_event) char buf[4096];
    while (::read(inotify_fd, buf, sizeof buf) > 0) {
    }
}

}  // namespace

tinyproxy::tinyproxy(std::vector<std::uint16_t> connect_ports,
                     std::optional<std::pair<std::string, std::string>> basic_auth) {
    if (::access(binary, X_OK) != 0)
        throw std::runtime_error(
            std::string(binary) +
            " is missing: install the Debian package tinyproxy (packaging/setup.sh does)");
    char tmpl[] = "/tmp/tunnel-tinyproxy-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("tinyproxy: mkdtemp failed");
    dir_ = tmpl;
    log_path_ = dir_ + "/tinyproxy.log";
    std::string const conf_path = dir_ + "/tinyproxy.conf";
    std::string const out_path = dir_ + "/stdout.txt";

    // The port is picked free, then handed to tinyproxy: another process may take it in between,
    // so a failed start is retried on a fresh port.
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = unused_tcp_port();
        std::ostringstream conf;
        // No User/Group: as root, tinyproxy keeps running as root (and warns), which is fine here.
        conf << "Listen 127.0.0.1\n"
             << "Port " << port_ << "\n"
             << "Timeout 120\n"
             << "LogFile \"" << log_path_ << "\"\n"
             << "LogLevel Info\n"
             << "MaxClients 50\n"
             << "Allow 127.0.0.1\n"
             << "DisableViaHeader Yes\n";
        for (auto p : connect_ports) conf << "ConnectPort " << p << "\n";
        if (basic_auth) conf << "BasicAuth " << basic_auth->first << " " << basic_auth->second << "\n";
        config_ = conf.str();
        {
            std::ofstream out(conf_path, std::ios::trunc);
            out << config_;
            if (!out) throw std::runtime_error("tinyproxy: cannot write " + conf_path);
        }
        std::filesystem::remove(log_path_);

        int const out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out_fd < 0) throw std::runtime_error("tinyproxy: cannot create " + out_path);
        std::string const conf_arg = conf_path;
        pid_ = ::fork();
        if (pid_ < 0) {
            ::close(out_fd);
            throw std::runtime_error("tinyproxy: fork failed");
        }
        if (pid_ == 0) {
            int const devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, 0);
            ::dup2(out_fd, 1);
            ::dup2(out_fd, 2);
            for (int fd = 3; fd < 1024; ++fd) ::close(fd);
            ::execl(binary, binary, "-d", "-c", conf_arg.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out_fd);

        // It logs "Starting main loop. Accepting connections." after its socket listens: wait for
        // changes to its log (or its end), up to the deadline.
        int const watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (watch >= 0) ::inotify_add_watch(watch, dir_.c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
        int const ended = process_fd(pid_);
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool ready = false;
        for (;;) {
            if (read_file(log_path_).find("Accepting connections") != std::string::npos) {
                ready = true;
                break;
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                failure = "tinyproxy exited at start (status " + std::to_string(status) +
                          "): " + read_file(out_path) + read_file(log_path_);
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                failure =
                    "tinyproxy did not listen within 10 s: " + read_file(out_path) + read_file(log_path_);
                stop();
                break;
            }
            wait_for_event({watch, ended}, deadline);
            if (watch >= 0) drain(watch);
        }
        if (watch >= 0) ::close(watch);
        if (ended >= 0) ::close(ended);
        if (ready) return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error(failure + "\nconfig:\n" + config_);
}

tinyproxy::~tinyproxy() {
    stop();
    if (std::getenv("TUNNEL_TEST_KEEP_LOGS") == nullptr) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

void tinyproxy::stop() {
    if (pid_ <= 0) return;
    int const ended = process_fd(pid_);
    ::kill(pid_, SIGTERM);
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int status = 0;
    for (;;) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        wait_for_event({ended}, deadline);  // wakes when it ends
    }
    if (ended >= 0) ::close(ended);
    pid_ = -1;
}

std::string tinyproxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string tinyproxy::log() const { return read_file(log_path_); }

std::size_t tinyproxy::connect_requests(std::string const& host_port) const {
    // "CONNECT   Nov 27 04:43:39.097 [25918]: Request (file descriptor 5): CONNECT 127.0.0.1:38889 HTTP/1.1"
    return count_of(log(), "): CONNECT " + host_port + " ");
}

std::size_t tinyproxy::connections() const { return count_of(log(), "Connect (file descriptor "); }

}  // namespace tunnel::test
