#pragma once
// Which certificates a wss:// dial trusts, and the TLS client context built from them. A static
// binary's OpenSSL only knows the directory it was built for, so the bundles of the common
// distributions are looked for by name (the order curl, Go and rustls-native-certs use).

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace tunnel::transport {

struct ca_source {
    enum class kind { file, directory, openssl_default, none };
    kind type = kind::none;
    std::string path;    // the bundle or directory (for openssl_default: what OpenSSL will read)
    std::string origin;  // "--ca-file", "SSL_CERT_FILE", "well-known location", "OpenSSL default"
    std::string describe() const;  // for the debug log and errors
};

// The well-known bundles, then the certs directory, in the order they are tried.
std::vector<std::string> const& well_known_ca_files();
std::string const& well_known_ca_directory();

struct trust_lookup {
    std::function<char const*(char const*)> getenv;
    std::function<bool(std::string const&)> is_file;  // exists and is a regular file (or a link to one)
    std::function<bool(std::string const&)> is_directory;
    std::string openssl_default_file;  // X509_get_default_cert_file(), for the last resort
    std::string openssl_default_dir;
};

// The real filesystem and environment.
trust_lookup system_trust_lookup();

// --ca-file, else SSL_CERT_FILE / SSL_CERT_DIR, else the first well-known bundle, else the certs
// directory, else OpenSSL's compiled-in paths when they exist, else none. A SSL_CERT_* variable
// that names nothing is an error (a typo would otherwise silently trust something else).
std::variant<ca_source, std::string> find_ca_source(std::string const& ca_file, trust_lookup const& lookup);

struct tls_client_settings {
    ca_source trust;         // ignored when insecure
    bool insecure = false;   // --tls-insecure: no verification at all
    std::string cert_file;   // client certificate (PEM, may hold the chain), with key_file
    std::string key_file;
};

// The context every wss:// dial shares. Fails with one line naming the file and the problem
// (missing, unreadable, not PEM, key not matching the certificate, no CA source).
std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> make_tls_client_context(
    tls_client_settings const& settings);

}  // namespace tunnel::transport
