#include "runner/throwaway_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace tunnel::runner::certificates {

void key_deleter::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
void cert_deleter::operator()(X509* c) const { X509_free(c); }

key_ptr new_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("certificates: cannot generate a key");
    return key;
}

namespace {
void add_name_entry(X509_NAME* name, char const* field, char const* value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<unsigned char const*>(value), -1,
                               -1, 0);
}

void add_extension(X509* cert, X509* signer, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, signer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error(std::string("certificates: bad extension ") + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

template <typename Write>
void write_pem(std::string const& path, Write write) {
    BIO* bio = BIO_new_file(path.c_str(), "w");
    bool const ok = bio && write(bio);
    if (bio) BIO_free(bio);
    if (!ok) throw std::runtime_error("certificates: cannot write " + path);
}
}  // namespace

cert_ptr make_cert(EVP_PKEY* key, char const* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                   std::vector<extension> const& extensions, char const* organization) {
    cert_ptr cert(X509_new());
    if (!cert) throw std::runtime_error("certificates: X509_new failed");
    X509_set_version(cert.get(), 2);  // v3
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (organization) add_name_entry(name, "O", organization);
    add_name_entry(name, "CN", cn);
    X509* const signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    for (auto const& [nid, value] : extensions) add_extension(cert.get(), signer, nid, value);
    if (X509_sign(cert.get(), issuer ? issuer_key : key, EVP_sha256()) == 0)
        throw std::runtime_error(std::string("certificates: cannot sign ") + cn);
    return cert;
}

void write_cert(std::string const& path, X509* cert) {
    write_pem(path, [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert) == 1; });
}

void write_key(std::string const& path, EVP_PKEY* key) {
    write_pem(path, [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    });
}

}  // namespace tunnel::runner::certificates
