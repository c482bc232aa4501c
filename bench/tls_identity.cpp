#include "tls_identity.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

#include "runner/throwaway_certificates.hpp"

namespace bench {

namespace certs = tunnel::runner::certificates;

tls_identity::tls_identity() {
    char tmpl[] = "/tmp/tunnel-bench-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("--tls: mkdtemp failed");
    dir_ = tmpl;
    ca_file_ = dir_ + "/ca.pem";
    try {
        auto const ca_key = certs::new_key();
        auto const ca = certs::make_cert(ca_key.get(), "tunnel-bench CA", 1, nullptr, nullptr,
                                         {{NID_basic_constraints, "critical,CA:TRUE"},
                                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                          {NID_subject_key_identifier, "hash"}});
        auto const key = certs::new_key();
        auto const leaf = certs::make_cert(key.get(), "localhost", 2, ca.get(), ca_key.get(),
                                           {{NID_basic_constraints, "critical,CA:FALSE"},
                                            {NID_key_usage, "critical,digitalSignature"},
                                            {NID_ext_key_usage, "serverAuth"},
                                            {NID_subject_key_identifier, "hash"},
                                            {NID_authority_key_identifier, "keyid:always"},
                                            {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"}});

        certs::write_cert(ca_file_, ca.get());

        server_ = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
        if (SSL_CTX_use_certificate(server_->native_handle(), leaf.get()) != 1 ||
            SSL_CTX_use_PrivateKey(server_->native_handle(), key.get()) != 1)
            throw std::runtime_error("--tls: cannot load the server certificate");
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        throw;
    }
}

tls_identity::~tls_identity() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

}  // namespace bench
