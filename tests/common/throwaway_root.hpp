#pragma once
// An almost empty root directory to run tunnel-client in, as in an image without a CA store:
// ROOT/tunnel-client, every shared library `ldd` lists for it (at the same absolute paths, the
// dynamic loader included; nothing for a static build) and an /etc/hosts of its own (localhost).
// Nothing else: no /etc/ssl, no /usr/lib/ssl, no /proc. add_file() places one more file (a CA
// bundle). The client runs as `chroot ROOT /tunnel-client ARGS...`, which needs root. Sanitizer
// runtimes need /proc: a sanitized client gets one mounted in ROOT in a private mount namespace
// of its own (unshare --mount), which a plain chroot (/ not a mount point) cannot give.
// usable() is the precondition of tests that use one; the constructor throws (with the reason)
// when the client does not start in it. Under an emulator (harness.hpp: a cross build's tests) the
// emulator is copied in beside the client, statically linked as qemu-user-static is, and runs it.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "preconditions.hpp"

namespace tunnel::test {

class throwaway_root {
public:
    // binary: the tunnel-client to copy in (the test build's, or the static one).
    explicit throwaway_root(std::string binary = client_binary());
    // Whether throwaway roots work here (root, chroot, ldd; for a sanitized client unshare and a
    // private mount namespace): a precondition, with the reason when they do not.
    static precondition_result usable(boost::unit_test::test_unit_id);
    ~throwaway_root();
    throwaway_root(throwaway_root const&) = delete;
    throwaway_root& operator=(throwaway_root const&) = delete;

    std::string const& path() const { return root_; }
    // Where the emulator is in every root, or empty without one.
    static std::string emulator_in_root();

    // Copies src to path_in_root (absolute, e.g. "/etc/ssl/cert.pem"), creating directories.
    void add_file(std::string const& src, std::string const& path_in_root);
    // Writes content to path_in_root, creating directories.
    void write_file(std::string const& path_in_root, std::string const& content);
    // Whether path_in_root exists inside the root.
    bool exists(std::string const& path_in_root) const;
    // Every regular file in the root, as absolute paths inside it, sorted.
    std::vector<std::string> files() const;

    // tunnel-client inside the root, with args; env as for client_process.
    std::unique_ptr<client_process> run_client(std::vector<std::string> args,
                                               std::map<std::string, std::string> env = {}) const;

private:
    std::string root_;
    std::string in_root(std::string const& path_in_root) const;
};

}  // namespace tunnel::test
