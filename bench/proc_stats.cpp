#include "proc_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace bench {

std::optional<double> own_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(in, text)) return std::nullopt;
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    auto const close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    unsigned long long ticks = 0;
    // rest starts at field 3 (state); utime..cstime are fields 14..17.
    for (int index = 3; index <= 17 && rest >> field; ++index)
        if (index >= 14) ticks += std::stoull(field);
    static long const hz = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(ticks) / static_cast<double>(hz);
}

double harness_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::vector<pid_t> children_of(pid_t pid) {
    std::vector<pid_t> out;
    std::string const task_dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(task_dir.c_str());
    if (!dir) return out;
    while (auto* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        std::ifstream in(task_dir + "/" + entry->d_name + "/children");
        pid_t child = 0;
        while (in >> child) out.push_back(child);
    }
    ::closedir(dir);
    return out;
}

double tree_cpu_seconds(pid_t pid) {
    double total = own_cpu_seconds(pid).value_or(0.0);
    for (pid_t child : children_of(pid)) total += tree_cpu_seconds(child);
    return total;
}

double tree_cpu_seconds(std::vector<pid_t> const& pids) {
    double total = 0;
    for (pid_t pid : pids) total += tree_cpu_seconds(pid);
    return total;
}

memory_kib process_memory(pid_t pid) {
    memory_kib out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) out.rss = std::stoul(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) out.hwm = std::stoul(line.substr(6));
    }
    return out;
}

namespace {
// Scans /proc/net/{tcp,udp} for local address 127.0.0.1:port (and, for TCP, state 0A = LISTEN).
bool socket_table_has(char const* table, std::uint16_t port, char const* state) {
    std::ifstream in(table);
    std::string line;
    char wanted[32];
    std::snprintf(wanted, sizeof wanted, "0100007F:%04X", port);
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, st;
        fields >> slot >> local >> remote >> st;
        if (local == wanted && (state == nullptr || st == state)) return true;
    }
    return false;
}
}  // namespace

bool tcp_listening(std::uint16_t port) { return socket_table_has("/proc/net/tcp", port, "0A"); }
bool udp_bound(std::uint16_t port) { return socket_table_has("/proc/net/udp", port, nullptr); }

}  // namespace bench
