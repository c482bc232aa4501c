#include "transport/tls_trust.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

using namespace tunnel::transport;

namespace {

// A filesystem and environment made of sets: which files and directories exist.
struct fake_system {
    std::map<std::string, std::string> env;
    std::set<std::string> files;
    std::set<std::string> dirs;
    trust_lookup lookup() const {
        trust_lookup l;
        l.getenv = [this](char const* name) -> char const* {
            auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        };
        l.is_file = [this](std::string const& p) { return files.count(p) > 0; };
        l.is_directory = [this](std::string const& p) { return dirs.count(p) > 0; };
        l.openssl_default_file = "/usr/lib/ssl/cert.pem";
        l.openssl_default_dir = "/usr/lib/ssl/certs";
        return l;
    }
};

ca_source found(std::string const& ca_file, fake_system const& sys) {
    auto r = find_ca_source(ca_file, sys.lookup());
    auto const* error = std::get_if<std::string>(&r);
    BOOST_REQUIRE_MESSAGE(!error, (error ? *error : std::string()));
    return std::get<ca_source>(r);
}

std::string refused(std::string const& ca_file, fake_system const& sys) {
    auto r = find_ca_source(ca_file, sys.lookup());
    BOOST_REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

// A temporary file with the given text, removed at the end of the test.
struct temp_file {
    explicit temp_file(std::string const& text) {
        char name[] = "/tmp/tls-trust-test-XXXXXX";
        int fd = ::mkstemp(name);
        BOOST_REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
        std::ofstream(path) << text;
    }
    ~temp_file() { std::remove(path.c_str()); }
    std::string path;
};

std::string context_error(tls_client_settings const& s) {
    auto r = make_tls_client_context(s);
    BOOST_REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_trust)

BOOST_AUTO_TEST_CASE(ca_file_replaces_every_other_source) {
    fake_system sys;
    sys.env = {{"SSL_CERT_FILE", "/env.pem"}};
    sys.files = {"/env.pem", "/etc/ssl/certs/ca-certificates.crt"};
    auto const s = found("/mine.pem", sys);
    BOOST_TEST((s.type == ca_source::kind::file));
    BOOST_TEST(s.path == "/mine.pem");
    BOOST_TEST(s.origin == "--ca-file");
}

BOOST_AUTO_TEST_CASE(environment_comes_before_the_well_known_bundles) {
    fake_system sys;
    sys.env = {{"SSL_CERT_FILE", "/env.pem"}, {"SSL_CERT_DIR", "/envdir"}};
    sys.files = {"/env.pem", "/etc/ssl/certs/ca-certificates.crt"};
    sys.dirs = {"/envdir"};
    BOOST_TEST(found("", sys).path == "/env.pem");
    sys.env.erase("SSL_CERT_FILE");
    auto const dir = found("", sys);
    BOOST_TEST((dir.type == ca_source::kind::directory));
    BOOST_TEST(dir.path == "/envdir");
    // A list, as OpenSSL reads it: the first directory that exists.
    sys.env["SSL_CERT_DIR"] = "/missing:/envdir";
    BOOST_TEST(found("", sys).path == "/envdir");
    // A variable naming nothing is an error, not a silent fallback.
    sys.env = {{"SSL_CERT_FILE", "/typo.pem"}};
    BOOST_TEST(refused("", sys).find("SSL_CERT_FILE=/typo.pem") != std::string::npos);
    sys.env = {{"SSL_CERT_DIR", "/nowhere"}};
    BOOST_TEST(refused("", sys).find("SSL_CERT_DIR") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(well_known_bundles_in_order_then_the_directory_then_openssl) {
    auto const& bundles = well_known_ca_files();
    BOOST_REQUIRE(bundles.size() == 5u);
    // Each bundle alone is found; with several, the earlier one in the list wins.
    for (std::size_t i = 0; i < bundles.size(); ++i) {
        fake_system sys;
        for (std::size_t j = i; j < bundles.size(); ++j) sys.files.insert(bundles[j]);
        sys.dirs = {"/etc/ssl/certs"};
        auto const s = found("", sys);
        BOOST_TEST(s.path == bundles[i]);
        BOOST_TEST(s.origin == "well-known location");
    }
    fake_system sys;
    sys.dirs = {"/etc/ssl/certs", "/usr/lib/ssl/certs"};
    BOOST_TEST(found("", sys).path == "/etc/ssl/certs");
    sys.dirs = {"/usr/lib/ssl/certs"};
    sys.files = {"/usr/lib/ssl/cert.pem"};
    auto const s = found("", sys);
    BOOST_TEST(s.path == "/usr/lib/ssl/cert.pem");
    BOOST_TEST(s.origin == "OpenSSL default");
}

BOOST_AUTO_TEST_CASE(nothing_anywhere_names_the_option) {
    fake_system sys;
    auto const e = refused("", sys);
    BOOST_TEST(e.find("no CA certificates") != std::string::npos, e);
    BOOST_TEST(e.find("--ca-file") != std::string::npos, e);
    BOOST_TEST(e.find("/etc/ssl/cert.pem") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(bad_files_are_named_before_any_dial) {
    temp_file garbage("this is not PEM\n");
    tls_client_settings s;
    s.trust = {ca_source::kind::file, "/nonexistent/ca.pem", "--ca-file"};
    auto e = context_error(s);
    BOOST_TEST(e.find("--ca-file /nonexistent/ca.pem: cannot read it") != std::string::npos, e);
    s.trust.path = garbage.path;
    e = context_error(s);
    BOOST_TEST(e.find("holds no PEM certificate") != std::string::npos, e);

    tls_client_settings mtls;
    mtls.insecure = true;
    mtls.cert_file = garbage.path;
    BOOST_TEST(context_error(mtls).find("--tls-cert needs --tls-key") != std::string::npos);
    mtls.key_file = garbage.path;
    BOOST_TEST(context_error(mtls).find("--tls-cert " + garbage.path + ": not a PEM certificate") !=
               std::string::npos);
    mtls.cert_file.clear();
    BOOST_TEST(context_error(mtls).find("--tls-key needs --tls-cert") != std::string::npos);
    mtls.cert_file = "/nonexistent/cert.pem";
    BOOST_TEST(context_error(mtls).find("cannot read it") != std::string::npos);

    tls_client_settings insecure;
    insecure.insecure = true;
    BOOST_TEST(std::holds_alternative<std::shared_ptr<boost::asio::ssl::context>>(make_tls_client_context(insecure)));
}

BOOST_AUTO_TEST_SUITE_END()
