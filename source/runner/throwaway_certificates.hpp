#pragma once
// Throwaway X.509 certificates for a runner that serves wss:// in tests and in the bench: P-256
// keys, v3 certificates valid from an hour ago for a day, signed with SHA-256, written as PEM.
// Errors throw std::runtime_error. (OpenSSL's own API, with owners for its objects.)

#include <openssl/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tunnel::runner::certificates {

struct key_deleter {
    void operator()(EVP_PKEY* k) const;
};
struct cert_deleter {
    void operator()(X509* c) const;
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

// An extension as OpenSSL's configuration names it: {NID_key_usage, "critical,digitalSignature"}.
using extension = std::pair<int, char const*>;

key_ptr new_key();

// A certificate for key, subject [O=organization,] CN=cn; self-signed when issuer is null (then
// issuer_key is not used).
cert_ptr make_cert(EVP_PKEY* key, char const* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                   std::vector<extension> const& extensions, char const* organization = nullptr);

void write_cert(std::string const& path, X509* cert);
void write_key(std::string const& path, EVP_PKEY* key);

}  // namespace tunnel::runner::certificates
