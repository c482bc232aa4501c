#include "test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
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

namespace tunnel::test {

namespace {

struct key_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_deleter {
    void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

key_ptr new_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("test_pki: cannot generate a key");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error(std::string("test_pki: bad extension ") + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for key with subject CN=cn; self-signed when issuer is null.
cert_ptr make_cert(EVP_PKEY* key, char const* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                   std::vector<std::pair<int, char const*>> const& extensions) {
    cert_ptr cert(X509_new());
    if (!cert) throw std::runtime_error("test_pki: X509_new failed");
    X509_set_version(cert.get(), 2);  // v3
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<unsigned char const*>("tunnel-client tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(cn), -1, -1,
                               0);
    X509* const signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    for (auto const& [nid, value] : extensions) add_ext(cert.get(), signer, nid, value);
    if (X509_sign(cert.get(), issuer ? issuer_key : key, EVP_sha256()) == 0)
        throw std::runtime_error(std::string("test_pki: cannot sign ") + cn);
    return cert;
}

void write_cert(std::string const& path, X509* cert) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    if (!bio) throw std::runtime_error("test_pki: cannot write " + path);
    bool const ok = PEM_write_bio_X509(bio, cert) == 1;
    BIO_free(bio);
    if (!ok) throw std::runtime_error("test_pki: cannot write " + path);
}

void write_key(std::string const& path, EVP_PKEY* key) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    if (!bio) throw std::runtime_error("test_pki: cannot write " + path);
    bool const ok = PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    BIO_free(bio);
    if (!ok) throw std::runtime_error("test_pki: cannot write " + path);
}

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
                                   {NID_subject_key_identifier, "hash"}});
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
            auto const cert = make_cert(key.get(), cn, serial, ca.get(), ca_key.get(), ext);
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
