#include "memory_cgroup.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "harness.hpp"

namespace tunnel::test {

namespace fs = std::filesystem;

namespace {

constexpr char const* cgroup_root = "/sys/fs/cgroup";

// The kernel's memory controller from /proc/cgroups ("memory HIERARCHY NUM_CGROUPS ENABLED"):
// nullopt when it has none enabled, else whether it is bound to a v1 hierarchy (not 0).
std::optional<bool> kernel_memory_controller_on_v1() {
    std::istringstream lines(read_file("/proc/cgroups"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string name;
        int hierarchy = 0, cgroups = 0, enabled = 0;
        if (fields >> name >> hierarchy >> cgroups >> enabled && name == "memory" && enabled == 1)
            return hierarchy != 0;
    }
    return std::nullopt;
}

enum class layout { none, v1, v2 };

// What /sys/fs/cgroup offers this process now.
layout mounted_layout() {
    std::string const root = cgroup_root;
    if (fs::exists(root + "/memory/memory.limit_in_bytes")) return layout::v1;
    std::istringstream controllers(read_file(root + "/cgroup.controllers"));
    for (std::string c; controllers >> c;)
        if (c == "memory") return layout::v2;
    return layout::none;
}

void mount_or_throw(char const* source, char const* target, char const* type, char const* options) {
    if (::mount(source, target, type, 0, options) != 0)
        throw std::runtime_error(std::string("mount -t ") + type + " " + target + ": " +
                                 std::strerror(errno));
}

// Mounts the kernel's memory controller at /sys/fs/cgroup in a mount namespace of this process's
// own, private so that nothing shows outside it.
void mount_memory_controller(bool on_v1) {
    if (::unshare(CLONE_NEWNS) != 0)
        throw std::runtime_error(std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno));
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        throw std::runtime_error(std::string("making / private: ") + std::strerror(errno));
    // Where /sys holds no sysfs (a bare root's empty directory), a tmpfs gives the mount point.
    if (!fs::is_directory(cgroup_root)) {
        mount_or_throw("tmpfs", "/sys", "tmpfs", "mode=0755");
        fs::create_directories(cgroup_root);
    }
    if (on_v1) {
        mount_or_throw("tmpfs", cgroup_root, "tmpfs", "mode=0755");
        fs::create_directory(std::string(cgroup_root) + "/memory");
        mount_or_throw("cgroup", (std::string(cgroup_root) + "/memory").c_str(), "cgroup", "memory");
    } else {
        mount_or_throw("cgroup2", cgroup_root, "cgroup2", nullptr);
    }
}

// Why none can be made here, or empty.
std::string unavailable_because() {
    if (::geteuid() != 0) return "needs root to make a cgroup (CI runs the tests as root)";
    auto const on_v1 = kernel_memory_controller_on_v1();
    if (!on_v1) return "the kernel has no memory cgroup controller enabled (/proc/cgroups)";
    if (mounted_layout() == layout::none) {
        // One is mounted by the first memory_cgroup made: that needs a private mount namespace.
        if (auto refused = private_mount_namespace_refused())
            return std::string("no memory controller is mounted under ") + cgroup_root +
                   ", and none can be mounted in a private mount namespace: " + *refused;
        return {};
    }
    try {
        memory_cgroup trial(256 * 1024 * 1024);
    } catch (std::exception const& e) {
        return e.what();
    }
    return {};
}

}  // namespace

precondition_result memory_cgroup::available(boost::unit_test::test_unit_id) {
    auto const why = unavailable_because();
    precondition_result r(why.empty());
    if (!r) r.message() << "a memory cgroup of the test's own: " << why;
    return r;
}

memory_cgroup::memory_cgroup(std::size_t limit_bytes) {
    if (mounted_layout() == layout::none) {
        auto const on_v1 = kernel_memory_controller_on_v1();
        if (!on_v1)
            throw std::runtime_error("the kernel has no memory cgroup controller enabled (/proc/cgroups)");
        mount_memory_controller(*on_v1);
    }
    static std::atomic<int> made{0};
    auto const name = "tunnel-client-test-" + std::to_string(::getpid()) + "-" + std::to_string(made++);
    std::string limit_file;
    switch (mounted_layout()) {
        case layout::v1:
            path_ = std::string(cgroup_root) + "/memory/" + name;
            limit_file = "memory.limit_in_bytes";
            break;
        case layout::v2:
            // (Enabled already, or not allowed here: the limit file below says which.)
            std::ofstream(std::string(cgroup_root) + "/cgroup.subtree_control") << "+memory";
            path_ = std::string(cgroup_root) + "/" + name;
            limit_file = "memory.max";
            break;
        case layout::none:
            throw std::runtime_error(std::string("no memory controller under ") + cgroup_root);
    }
    if (::mkdir(path_.c_str(), 0755) != 0)
        throw std::runtime_error("cannot create " + path_ + ": " + std::strerror(errno));
    auto const limit = std::to_string(limit_bytes);
    { std::ofstream(path_ + "/" + limit_file) << limit; }
    auto written = read_file(path_ + "/" + limit_file);
    while (!written.empty() && written.back() == '\n') written.pop_back();
    if (written != limit) {
        ::rmdir(path_.c_str());
        throw std::runtime_error("cannot set " + path_ + "/" + limit_file + " to " + limit + " (it says '" +
                                 written + "')");
    }
}

memory_cgroup::~memory_cgroup() { ::rmdir(path_.c_str()); }

}  // namespace tunnel::test
