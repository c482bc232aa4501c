#pragma once
// An almost empty root directory to run tunnel-client in, as in an image without a CA store:
// ROOT/tunnel-client, every shared library `ldd` lists for it (at the same absolute paths, the
// dynamic loader included; nothing for a static build) and /etc/hosts. Nothing else: no
// /etc/ssl, no /usr/lib/ssl, no /proc. add_file() places one more file (a CA bundle).
// The client runs as `unshare --mount --propagation private chroot ROOT /tunnel-client ARGS...`,
// which needs root: the constructor throws (with the reason) when that does not work here.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace tunnel::test {

class throwaway_root {
public:
    // binary: the tunnel-client to copy in (the test build's, or the static one).
    explicit throwaway_root(std::string binary = client_path());
    ~throwaway_root();
    throwaway_root(throwaway_root const&) = delete;
    throwaway_root& operator=(throwaway_root const&) = delete;

    std::string const& path() const { return root_; }

    // Copies src to path_in_root (absolute, e.g. "/etc/ssl/cert.pem"), creating directories.
    void add_file(std::string const& src, std::string const& path_in_root);
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
