#include "transport/http_headers.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace tunnel::transport;

namespace {
http_header ok(std::string_view line) {
    auto r = parse_header(line);
    auto const* error = std::get_if<std::string>(&r);
    BOOST_REQUIRE_MESSAGE(!error, (error ? *error : std::string()));
    return std::get<http_header>(r);
}
std::string bad(std::string_view line) {
    auto r = parse_header(line);
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), "header should be refused");
    return std::get<std::string>(r);
}
bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }
bool one_line(std::string const& text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(http_headers)

BOOST_AUTO_TEST_CASE(name_and_value) {
    auto const h = ok("X-Token: abc123");
    BOOST_TEST(h.name == "X-Token");
    BOOST_TEST(h.value == "abc123");
    BOOST_TEST(ok("Authorization: Bearer a.b.c").value == "Bearer a.b.c");
    BOOST_TEST(ok("X-Odd!#$%&'*+-.^_`|~09: v").name == "X-Odd!#$%&'*+-.^_`|~09");  // every tchar
    BOOST_TEST(ok("X-Url: http://a:b@c/").value == "http://a:b@c/");  // the first colon ends the name
    BOOST_TEST(ok("User-Agent: mine").name == "User-Agent");
}

BOOST_AUTO_TEST_CASE(value_is_trimmed_and_may_be_empty) {
    BOOST_TEST(ok("X-A:   spaced  ").value == "spaced");
    BOOST_TEST(ok("X-A:\t\ttabbed\t").value == "tabbed");
    BOOST_TEST(ok("X-A: inner  \t space").value == "inner  \t space");
    BOOST_TEST(ok("X-A:").value == "");
    BOOST_TEST(ok("X-A:   ").value == "");
    BOOST_TEST(ok("X-A: caf\xc3\xa9").value == "caf\xc3\xa9");  // obs-text passes
}

BOOST_AUTO_TEST_CASE(no_colon_or_empty_name) {
    BOOST_TEST(contains(bad("X-Token abc123"), "no ':'"));
    BOOST_TEST(!contains(bad("Bearer s3cret"), "s3cret"));
    BOOST_TEST(contains(bad(""), "no ':'"));
    BOOST_TEST(contains(bad(": value"), "empty name"));
}

BOOST_AUTO_TEST_CASE(bad_names) {
    BOOST_TEST(bad("X Token: a") == "header 'X Token' has an invalid name");
    for (auto const* line : {" X-Token: a", "X-Token : a", "X(Token): a", "X/Token: a", "X\"T: a", "X@T: a",
                             "X\xc3\xa9: a", "X,T: a", "X{T}: a"})
        BOOST_TEST(contains(bad(line), "invalid name"), line);
    auto const control = bad(std::string_view("X-\r\nEvil: a", 11));
    BOOST_TEST(contains(control, "'X-\\x0D\\x0AEvil'"), control);
    BOOST_TEST(one_line(control));
    auto const nul = bad(std::string_view("X-\0T: a", 7));
    BOOST_TEST(contains(nul, "invalid name"));
    BOOST_TEST(one_line(nul));
}

BOOST_AUTO_TEST_CASE(control_characters_in_the_value) {
    for (std::string_view line :
         {std::string_view("X-A: a\r\nHost: evil"), std::string_view("X-A: a\nb"),
          std::string_view("X-A: a\rb"), std::string_view("X-A: a\0b", 8), std::string_view("X-A: a\x01"),
          std::string_view("X-A: \x7f"), std::string_view("X-A: a\r")}) {
        auto const error = bad(line);
        BOOST_TEST(contains(error, "header 'X-A' has a control character"), error);
        BOOST_TEST(one_line(error));
    }
}

BOOST_AUTO_TEST_CASE(headers_the_client_sets_are_refused_in_any_case) {
    for (auto const* line :
         {"Host: x", "host: x", "HOST: x", "Upgrade: x", "connection: x", "Content-Length: 0",
          "transfer-encoding: chunked", "Sec-WebSocket-Key: x", "sec-websocket-protocol: x",
          "SEC-WEBSOCKET-VERSION: 8", "Sec-WebSocket-Extensions: x", "Sec-WebSocket-Anything: x"})
        BOOST_TEST(contains(bad(line), "set by the client itself"), line);
    BOOST_TEST(bad("hOsT: x") == "header 'hOsT' is set by the client itself");
    BOOST_TEST(ok("Sec-WebSocketX: x").name == "Sec-WebSocketX");  // not the prefix
    BOOST_TEST(ok("X-Host: x").name == "X-Host");
    BOOST_TEST(ok("Hosts: x").name == "Hosts");
}

BOOST_AUTO_TEST_CASE(errors_never_contain_the_value) {
    for (auto const* line : {"X Token: hunter2", "Host: hunter2", "X-A: hunter2\r\n", "X-A: hunter2\x01",
                             ": hunter2", "X(A): hunter2", "Sec-WebSocket-Key: hunter2"})
        BOOST_TEST(!contains(bad(line), "hunter2"), line);
}

BOOST_AUTO_TEST_CASE(header_lists) {
    auto r = parse_header_list("X-A: 1\nX-B: 2\r\n\r\n  \n\tX-C: ignored-not\n");
    auto const* error = std::get_if<std::string>(&r);
    BOOST_TEST(error);  // "\tX-C" has an invalid name (no folding)
    BOOST_TEST((error && contains(*error, "line 5: ")), (error ? *error : std::string()));

    auto good = parse_header_list("X-A: 1\nX-B: 2\r\n\r\n  \n\t\nX-A: 3\n");
    BOOST_REQUIRE(std::holds_alternative<std::vector<http_header>>(good));
    auto const& list = std::get<std::vector<http_header>>(good);
    BOOST_REQUIRE(list.size() == 3u);
    BOOST_TEST(list[0].name == "X-A");
    BOOST_TEST(list[0].value == "1");
    BOOST_TEST(list[1].value == "2");  // the "\r" of "\r\n" is not part of the value
    BOOST_TEST(list[2].value == "3");  // repeated names are kept

    auto const empty = parse_header_list("");
    BOOST_TEST(std::get<std::vector<http_header>>(empty).empty());
    auto const blank = parse_header_list("\n\r\n \n");
    BOOST_TEST(std::get<std::vector<http_header>>(blank).empty());
    auto const single = parse_header_list("X-A: 1");
    BOOST_TEST(std::get<std::vector<http_header>>(single).size() == 1u);

    auto const refused = parse_header_list("X-A: 1\nHost: s3cret\n");
    BOOST_TEST(std::get<std::string>(refused) == "line 2: header 'Host' is set by the client itself");
    auto const lone_cr = parse_header_list("X-A: a\rb\n");
    BOOST_TEST(contains(std::get<std::string>(lone_cr), "control character"));
}

BOOST_AUTO_TEST_CASE(base64_rfc4648_vectors) {
    auto const b64 = [](std::string_view s) { return basic_authorization(s).substr(6); };
    BOOST_TEST(basic_authorization("").substr(0, 6) == "Basic ");
    BOOST_TEST(b64("") == "");
    BOOST_TEST(b64("f") == "Zg==");
    BOOST_TEST(b64("fo") == "Zm8=");
    BOOST_TEST(b64("foo") == "Zm9v");
    BOOST_TEST(b64("foob") == "Zm9vYg==");
    BOOST_TEST(b64("fooba") == "Zm9vYmE=");
    BOOST_TEST(b64("foobar") == "Zm9vYmFy");
    BOOST_TEST(b64(std::string_view("\xff\xfe\x00", 3)) == "//4A");  // high bytes and NUL
    BOOST_TEST(b64(std::string_view("\x00\xff", 2)) == "AP8=");
    // One line however long: Basic has no line breaks (EVP_EncodeUpdate would add one every 64).
    BOOST_TEST(b64(std::string(100, 'x')) ==
               "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
               "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==");
}

BOOST_AUTO_TEST_CASE(basic_authorization_rfc7617_example) {
    BOOST_TEST(basic_authorization("Aladdin:open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

BOOST_AUTO_TEST_SUITE_END()
