#include "throwaway_root.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace tunnel::test {

namespace fs = std::filesystem;

namespace {

std::string first_existing(std::initializer_list<char const*> candidates) {
    for (auto const* c : candidates)
        if (::access(c, X_OK) == 0) return c;
    return {};
}

std::string const& unshare_path() {
    static std::string const path = first_existing({"/usr/bin/unshare", "/bin/unshare"});
    return path;
}

std::string const& chroot_path() {
    static std::string const path = first_existing({"/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"});
    return path;
}

std::string const& ldd_path() {
    static std::string const path = first_existing({"/usr/bin/ldd", "/bin/ldd"});
    return path;
}

#ifdef TUNNEL_TESTS_SANITIZED
constexpr bool needs_proc = true;  // sanitizer runtimes read /proc/self/maps
#else
constexpr bool needs_proc = false;
#endif

// Why throwaway roots cannot work here, or empty.
std::string unusable_because() {
    if (::geteuid() != 0) return "needs root for chroot (CI runs the tests as root)";
    if (chroot_path().empty()) return "no chroot here (coreutils)";
    if (ldd_path().empty()) return "no ldd here (libc-bin)";
    if (needs_proc) {
        if (unshare_path().empty())
            return "a sanitized client needs /proc in it: no unshare here (util-linux)";
        if (auto refused = private_mount_namespace_refused())
            return "a sanitized client needs /proc mounted in it, in a private mount namespace: " + *refused;
    }
    return {};
}

// The absolute paths of the shared objects `ldd` lists for binary (none for a static binary).
std::vector<std::string> shared_objects(std::string const& binary) {
    std::string const command = ldd_path() + " '" + binary + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("throwaway_root: cannot run ldd");
    std::string output;
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    int const status = ::pclose(pipe);

    std::vector<std::string> paths;
    if (output.find("not a dynamic executable") != std::string::npos ||
        output.find("statically linked") != std::string::npos)
        return paths;
    if (status != 0) throw std::runtime_error("throwaway_root: ldd " + binary + " failed:\n" + output);
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.find("not found") != std::string::npos)
            throw std::runtime_error("throwaway_root: ldd: " + line);
        std::string path;
        if (auto arrow = line.find("=> "); arrow != std::string::npos)
            path = line.substr(arrow + 3);  // "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x...)"
        else
            path = line;  // "/lib64/ld-linux-x86-64.so.2 (0x...)" or "linux-vdso.so.1 (0x...)"
        path.erase(0, path.find_first_not_of(" \t"));
        path = path.substr(0, path.find(" ("));
        if (!path.empty() && path.front() == '/') paths.push_back(path);
    }
    if (paths.empty()) throw std::runtime_error("throwaway_root: nothing usable in ldd's output:\n" + output);
    return paths;
}

}  // namespace

precondition_result throwaway_root::usable(boost::unit_test::test_unit_id) {
    auto const why = unusable_because();
    precondition_result r(why.empty());
    if (!r) r.message() << "a throwaway root for the client: " << why;
    return r;
}

throwaway_root::throwaway_root(std::string binary) {
    if (auto const why = unusable_because(); !why.empty()) throw std::runtime_error("throwaway_root: " + why);

    char tmpl[] = "/tmp/tunnel-root-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("throwaway_root: mkdtemp failed");
    root_ = tmpl;
    try {
        fs::copy_file(binary, in_root("/tunnel-client"));
        fs::permissions(in_root("/tunnel-client"), fs::perms::owner_all | fs::perms::group_read |
                                                       fs::perms::group_exec | fs::perms::others_read |
                                                       fs::perms::others_exec);
        for (auto const& lib : shared_objects(binary)) add_file(lib, lib);
        if (emulator_path) add_file(emulator_path, emulator_in_root());
        // Its own, not the host's: a bare root (debootstrap) may have none to copy.
        write_file("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
#ifdef TUNNEL_TESTS_SANITIZED
        fs::create_directories(in_root("/proc"));
        // A suppressions file named in *SAN_OPTIONS must be found inside the root too.
        for (auto const* var : {"TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
            char const* options = std::getenv(var);
            if (!options) continue;
            std::string const text = options;
            auto at = text.find("suppressions=");
            if (at == std::string::npos) continue;
            at += std::string_view("suppressions=").size();
            auto const file = text.substr(at, text.find_first_of(" :", at) - at);
            if (!file.empty() && file.front() == '/' && fs::exists(file)) add_file(file, file);
        }
#endif

        // Does the client start in there at all? (No root, no unshare, a library missing...)
        auto probe = run_client({"--version"});
        auto const code = probe->wait_exit_blocking(std::chrono::seconds(10));
        if (!code || *code != 0 || probe->log().find("tunnel-client") == std::string::npos)
            throw std::runtime_error("throwaway_root: tunnel-client does not run in " + root_ + " (exit " +
                                     (code ? std::to_string(*code) : std::string("none within 10 s")) +
                                     "):\n" + probe->log());
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
        throw;
    }
}

throwaway_root::~throwaway_root() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
}

std::string throwaway_root::emulator_in_root() {
    return emulator_path ? "/" + fs::path(emulator_path).filename().string() : std::string();
}

std::string throwaway_root::in_root(std::string const& path_in_root) const {
    if (path_in_root.empty() || path_in_root.front() != '/')
        throw std::invalid_argument("throwaway_root: not an absolute path: " + path_in_root);
    return root_ + path_in_root;
}

void throwaway_root::write_file(std::string const& path_in_root, std::string const& content) {
    auto const dst = fs::path(in_root(path_in_root));
    fs::create_directories(dst.parent_path());
    std::ofstream out(dst, std::ios::trunc);
    out << content;
    if (!out.flush()) throw std::runtime_error("throwaway_root: cannot write " + dst.string());
}

void throwaway_root::add_file(std::string const& src, std::string const& path_in_root) {
    auto const dst = fs::path(in_root(path_in_root));
    fs::create_directories(dst.parent_path());
    // Follows symbolic links: the root gets the content, not a link that points outside it.
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing);
}

std::vector<std::string> throwaway_root::files() const {
    std::vector<std::string> out;
    for (auto const& e : fs::recursive_directory_iterator(root_))
        if (e.is_regular_file()) out.push_back(e.path().string().substr(root_.size()));
    std::sort(out.begin(), out.end());
    return out;
}

bool throwaway_root::exists(std::string const& path_in_root) const {
    return fs::exists(in_root(path_in_root));
}

std::unique_ptr<client_process> throwaway_root::run_client(std::vector<std::string> args,
                                                           std::map<std::string, std::string> env) const {
    std::vector<std::string> argv;
    if (emulator_path) args.insert(args.begin(), "/tunnel-client");
    std::string const program = emulator_path ? emulator_in_root() : "/tunnel-client";
    if (!needs_proc) {
        argv = {root_, program};
        argv.insert(argv.end(), args.begin(), args.end());
        return client_process::run_program(chroot_path(), std::move(argv), std::move(env));
    }
    // The mount lives and dies with the private mount namespace.
    argv = {"--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            "mount -t proc proc \"$0/proc\" && exec " + chroot_path() + " \"$0\" " + program + " \"$@\"",
            root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return client_process::run_program(unshare_path(), std::move(argv), std::move(env));
}

}  // namespace tunnel::test
