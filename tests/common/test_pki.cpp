#include "test_pki.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "runner/throwaway_certificates.hpp"

namespace tunnel::test {

namespace {
namespace certs = runner::certificates;
using certs::make_cert;
using certs::new_key;
using certs::write_cert;
using certs::write_key;
char const* const organization = "tunnel-client tests";
}  // namespace

test_pki::test_pki() {
    char tmpl[] = "/tmp/tunnel-pki-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("test_pki: mkdtemp failed");
    dir = tmpl;
    ca_cert = dir + "/ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    other_cert = dir + "/other.pem";
    other_key = dir + "/other.key";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client.key";
    garbage = dir + "/garbage.pem";

    try {
        auto const ca_key = new_key();
        auto const ca = make_cert(ca_key.get(), "tunnel-client test CA", 1, nullptr, nullptr,
                                  {{NID_basic_constraints, "critical,CA:TRUE"},
                                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   {NID_subject_key_identifier, "hash"}},
                                  organization);
        write_cert(ca_cert, ca.get());
        char hash[16];
        std::snprintf(hash, sizeof hash, "%08lx", X509_subject_name_hash(ca.get()));
        ca_subject_hash = hash;

        auto leaf = [&](char const* cn, long serial, char const* eku, char const* san,
                        std::string const& cert_path, std::string const& key_path) {
            auto const key = new_key();
            std::vector<std::pair<int, char const*>> ext{{NID_basic_constraints, "critical,CA:FALSE"},
                                                         {NID_key_usage, "critical,digitalSignature"},
                                                         {NID_ext_key_usage, eku},
                                                         {NID_subject_key_identifier, "hash"},
                                                         {NID_authority_key_identifier, "keyid:always"}};
            if (san) ext.emplace_back(NID_subject_alt_name, san);
            auto const cert = make_cert(key.get(), cn, serial, ca.get(), ca_key.get(), ext, organization);
            write_cert(cert_path, cert.get());
            write_key(key_path, key.get());
        };
        leaf("runner.test", 2, "serverAuth", "DNS:runner.test,DNS:localhost,IP:127.0.0.1", server_cert,
             server_key);
        leaf("other.test", 3, "serverAuth", "DNS:other.test", other_cert, other_key);
        leaf("tunnel-client", 4, "clientAuth", nullptr, client_cert, client_key);

        std::ofstream out(garbage);
        out << "this is not a certificate\n-----BEGIN NOTHING-----\nzzzz\n";
        if (!out) throw std::runtime_error("test_pki: cannot write " + garbage);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
        throw;
    }
}

test_pki::~test_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

std::shared_ptr<boost::asio::ssl::context> test_pki::server_context(bool require_client_cert,
                                                                    bool other_name) const {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(other_name ? other_cert : server_cert);
    ctx->use_private_key_file(other_name ? other_key : server_key, ssl::context::pem);
    if (require_client_cert) {
        ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
        ctx->load_verify_file(ca_cert);
        // Tell the client which CA we accept (its certificate_authorities list).
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_cert.c_str()))
            SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    return ctx;
}

}  // namespace tunnel::test
