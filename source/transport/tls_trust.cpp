#include "transport/tls_trust.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tunnel::transport {

namespace {

bool stat_is(std::string const& path, mode_t type) {
    struct stat st {};
    return !path.empty() && ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
}

// The first directory of a colon-separated list (as OpenSSL reads SSL_CERT_DIR) that exists.
std::string first_directory(std::string const& list, trust_lookup const& lookup) {
    std::size_t start = 0;
    while (start <= list.size()) {
        auto const end = std::min(list.find(':', start), list.size());
        std::string const dir = list.substr(start, end - start);
        if (!dir.empty() && lookup.is_directory(dir)) return dir;
        start = end + 1;
    }
    return {};
}

std::string openssl_error() {
    unsigned long const code = ::ERR_get_error();
    ::ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char text[256];
    ::ERR_error_string_n(code, text, sizeof text);
    return text;
}

// Opens the file first, so that a missing or unreadable file says so rather than an OpenSSL code.
std::string unreadable(std::string const& option, std::string const& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return option + " " + path + ": cannot read it (" + std::strerror(errno) + ")";
    std::fclose(f);
    if (stat_is(path, S_IFDIR)) return option + " " + path + ": is a directory, not a PEM file";
    return {};
}

// How many certificates a PEM file holds (0 when it holds none or is not PEM).
int count_certificates(std::string const& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return 0;
    int n = 0;
    while (X509* cert = ::PEM_read_X509(f, nullptr, nullptr, nullptr)) {
        ::X509_free(cert);
        ++n;
    }
    std::fclose(f);
    ::ERR_clear_error();  // the read that ended the loop
    return n;
}

}  // namespace

std::string ca_source::describe() const {
    switch (type) {
        case kind::file:
        case kind::directory:
        case kind::openssl_default:
            return path + " (" + origin + ")";
        case kind::none:
            break;
    }
    return "none";
}

std::vector<std::string> const& well_known_ca_files() {
    static std::vector<std::string> const files = {
        "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Gentoo, Arch
        "/etc/ssl/cert.pem",                                  // Alpine, macOS-like layouts
        "/etc/pki/tls/certs/ca-bundle.crt",                   // RHEL, Fedora, CentOS
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+, Fedora
        "/etc/ssl/ca-bundle.pem",                             // SUSE, openSUSE
    };
    return files;
}

std::string const& well_known_ca_directory() {
    static std::string const dir = "/etc/ssl/certs";
    return dir;
}

trust_lookup system_trust_lookup() {
    trust_lookup l;
    l.getenv = [](char const* name) { return std::getenv(name); };
    l.is_file = [](std::string const& p) { return stat_is(p, S_IFREG); };
    l.is_directory = [](std::string const& p) { return stat_is(p, S_IFDIR); };
    l.openssl_default_file = ::X509_get_default_cert_file();
    l.openssl_default_dir = ::X509_get_default_cert_dir();
    return l;
}

std::variant<ca_source, std::string> find_ca_source(std::string const& ca_file, trust_lookup const& lookup) {
    using kind = ca_source::kind;
    if (!ca_file.empty()) return ca_source{kind::file, ca_file, "--ca-file"};

    auto env = [&](char const* name) -> std::string {
        char const* v = lookup.getenv ? lookup.getenv(name) : nullptr;
        return v ? v : "";
    };
    if (auto const file = env("SSL_CERT_FILE"); !file.empty()) {
        if (!lookup.is_file(file)) return "SSL_CERT_FILE=" + file + ": no such file";
        return ca_source{kind::file, file, "SSL_CERT_FILE"};
    }
    if (auto const dirs = env("SSL_CERT_DIR"); !dirs.empty()) {
        auto const dir = first_directory(dirs, lookup);
        if (dir.empty()) return "SSL_CERT_DIR=" + dirs + ": no such directory";
        return ca_source{kind::directory, dir, "SSL_CERT_DIR"};
    }
    for (auto const& file : well_known_ca_files())
        if (lookup.is_file(file)) return ca_source{kind::file, file, "well-known location"};
    if (lookup.is_directory(well_known_ca_directory()))
        return ca_source{kind::directory, well_known_ca_directory(), "well-known location"};
    if (lookup.is_file(lookup.openssl_default_file))
        return ca_source{kind::file, lookup.openssl_default_file, "OpenSSL default"};
    if (lookup.is_directory(lookup.openssl_default_dir))
        return ca_source{kind::directory, lookup.openssl_default_dir, "OpenSSL default"};

    std::string looked;
    for (auto const& file : well_known_ca_files()) looked += file + ", ";
    looked += well_known_ca_directory();
    return "no CA certificates found to verify the runner (SSL_CERT_FILE and SSL_CERT_DIR unset; none of " +
           looked + " exists); give --ca-file PATH, or --tls-insecure to skip verification";
}

std::variant<std::shared_ptr<boost::asio::ssl::context>, std::string> make_tls_client_context(
    tls_client_settings const& settings) {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    ::SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // The ciphers offered, AES-128-GCM first: as strong for this use, and a third less CPU per
    // byte than AES-256-GCM (OpenSSL's default first choice) where the CPU has AES instructions;
    // ChaCha20 last, for CPUs without them. (Mozilla's "intermediate" list for TLS 1.2.)
    ::SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    ::SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");

    if (!settings.insecure) {
        auto const& trust = settings.trust;
        auto const option = trust.origin == "--ca-file" ? std::string("--ca-file") : trust.origin;
        switch (trust.type) {
            case ca_source::kind::file:
            case ca_source::kind::openssl_default:
                if (trust.type == ca_source::kind::file || stat_is(trust.path, S_IFREG)) {
                    if (auto e = unreadable(option, trust.path); !e.empty()) return e;
                    if (count_certificates(trust.path) == 0)
                        return option + " " + trust.path + ": holds no PEM certificate";
                    if (::SSL_CTX_load_verify_locations(native, trust.path.c_str(), nullptr) != 1)
                        return option + " " + trust.path + ": " + openssl_error();
                } else if (::SSL_CTX_load_verify_locations(native, nullptr, trust.path.c_str()) != 1) {
                    return option + " " + trust.path + ": " + openssl_error();
                }
                break;
            case ca_source::kind::directory:
                // Hashed names (<subject hash>.0) are read when a certificate is verified.
                if (::SSL_CTX_load_verify_locations(native, nullptr, trust.path.c_str()) != 1)
                    return option + " " + trust.path + ": " + openssl_error();
                break;
            case ca_source::kind::none:
                return "no CA certificates to verify the runner; give --ca-file PATH";
        }
    }

    if (settings.cert_file.empty() != settings.key_file.empty())
        return settings.cert_file.empty() ? "--tls-key needs --tls-cert (the client certificate)"
                                          : "--tls-cert needs --tls-key (the certificate's private key)";
    if (!settings.cert_file.empty()) {
        if (auto e = unreadable("--tls-cert", settings.cert_file); !e.empty()) return e;
        if (auto e = unreadable("--tls-key", settings.key_file); !e.empty()) return e;
        if (::SSL_CTX_use_certificate_chain_file(native, settings.cert_file.c_str()) != 1) {
            ::ERR_clear_error();
            return "--tls-cert " + settings.cert_file + ": not a PEM certificate";
        }
        // An encrypted key would make OpenSSL ask for a passphrase on the terminal: refuse instead.
        ::SSL_CTX_set_default_passwd_cb(native, [](char*, int, int, void*) { return 0; });
        if (::SSL_CTX_use_PrivateKey_file(native, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            ::ERR_clear_error();
            return "--tls-key " + settings.key_file + ": not a PEM private key (or it is encrypted)";
        }
        if (::SSL_CTX_check_private_key(native) != 1) {
            ::ERR_clear_error();
            return "--tls-key " + settings.key_file + ": does not match the certificate in --tls-cert";
        }
    }
    return ctx;
}

}  // namespace tunnel::transport
