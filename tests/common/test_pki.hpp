#pragma once
// A throwaway PKI in a temporary directory (removed with the object): a CA, a server certificate
// for runner.test / localhost / 127.0.0.1, a second server certificate for other.test only (name
// mismatch tests), a client certificate (mTLS), all signed by the CA, and a file of garbage for
// "not PEM" tests. Keys are P-256; every file is PEM.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace tunnel::test {

class test_pki {
public:
    test_pki();
    ~test_pki();
    test_pki(test_pki const&) = delete;
    test_pki& operator=(test_pki const&) = delete;

    std::string dir;          // the temporary directory holding everything below
    std::string ca_cert;      // CA certificate (the trust anchor to hand to the client)
    std::string server_cert;  // SAN DNS:runner.test, DNS:localhost, IP:127.0.0.1
    std::string server_key;
    std::string other_cert;  // SAN DNS:other.test only
    std::string other_key;
    std::string client_cert;  // CN=tunnel-client, extendedKeyUsage clientAuth
    std::string client_key;
    std::string garbage;  // a file that is not PEM at all

    // OpenSSL's subject hash of the CA ("%08lx"): the CA is found in a certs directory as <hash>.0.
    std::string ca_subject_hash;

    // A TLS server context with the server certificate (or the other.test one). With
    // require_client_cert, clients must present a certificate signed by the CA.
    std::shared_ptr<boost::asio::ssl::context> server_context(bool require_client_cert,
                                                              bool other_name = false) const;
};

}  // namespace tunnel::test
