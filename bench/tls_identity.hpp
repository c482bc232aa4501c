#pragma once
// The harness's TLS identity for --tls: a throwaway CA and a server certificate it signed (SAN
// IP:127.0.0.1 and DNS:localhost, P-256 keys), made at start. The CA certificate is written to a
// temporary PEM file (removed with the object) that clients are told to trust; the server side is
// an ssl::context for the runner emulator's listener.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace bench {

class tls_identity {
public:
    tls_identity();  // throws std::runtime_error when OpenSSL or the temporary file fails
    ~tls_identity();
    tls_identity(tls_identity const&) = delete;
    tls_identity& operator=(tls_identity const&) = delete;

    std::string const& ca_file() const { return ca_file_; }
    std::shared_ptr<boost::asio::ssl::context> server_context() const { return server_; }

private:
    std::string dir_;
    std::string ca_file_;
    std::shared_ptr<boost::asio::ssl::context> server_;
};

}  // namespace bench
