#include "tls_identity.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

namespace bench {

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
    if (!key) throw std::runtime_error("--tls: cannot generate a key");
    return key;
}

// A certificate for key, subject CN=cn, valid from an hour ago for a day; self-signed without issuer.
cert_ptr make_cert(EVP_PKEY* key, char const* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                   std::vector<std::pair<int, char const*>> const& extensions) {
    cert_ptr cert(X509_new());
    if (!cert) throw std::runtime_error("--tls: X509_new failed");
    X509_set_version(cert.get(), 2);  // v3
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(cn), -1, -1,
                               0);
    X509* const signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    for (auto const& [nid, value] : extensions) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (!ext) throw std::runtime_error(std::string("--tls: bad certificate extension ") + value);
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), issuer ? issuer_key : key, EVP_sha256()) == 0)
        throw std::runtime_error(std::string("--tls: cannot sign ") + cn);
    return cert;
}

}  // namespace

tls_identity::tls_identity() {
    char tmpl[] = "/tmp/tunnel-bench-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("--tls: mkdtemp failed");
    dir_ = tmpl;
    ca_file_ = dir_ + "/ca.pem";
    try {
        auto const ca_key = new_key();
        auto const ca = make_cert(ca_key.get(), "tunnel-bench CA", 1, nullptr, nullptr,
                                  {{NID_basic_constraints, "critical,CA:TRUE"},
                                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   {NID_subject_key_identifier, "hash"}});
        auto const key = new_key();
        auto const leaf = make_cert(key.get(), "localhost", 2, ca.get(), ca_key.get(),
                                    {{NID_basic_constraints, "critical,CA:FALSE"},
                                     {NID_key_usage, "critical,digitalSignature"},
                                     {NID_ext_key_usage, "serverAuth"},
                                     {NID_subject_key_identifier, "hash"},
                                     {NID_authority_key_identifier, "keyid:always"},
                                     {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"}});

        BIO* bio = BIO_new_file(ca_file_.c_str(), "w");
        bool const written = bio && PEM_write_bio_X509(bio, ca.get()) == 1;
        if (bio) BIO_free(bio);
        if (!written) throw std::runtime_error("--tls: cannot write " + ca_file_);

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
