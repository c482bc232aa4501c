#pragma once
// Extra request headers given by the user, and the Basic authorization header that credentials
// need. Errors never repeat a header's value: it is often a token.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tunnel::transport {

struct http_header {
    std::string name;
    std::string value;
};

// "Name: value": the name is an RFC 7230 token, the value is trimmed of spaces and tabs and may be
// empty. Refused: no colon, a bad name, control characters (CR, LF, NUL...), and the headers the
// client sets itself (Host, Upgrade, Connection, Content-Length, Transfer-Encoding, Sec-WebSocket-*).
std::variant<http_header, std::string> parse_header(std::string_view line);
// The environment form: one header per line ("\n" or "\r\n"), blank lines skipped.
std::variant<std::vector<http_header>, std::string> parse_header_list(std::string_view text);

// "Basic " + base64("user:password") (RFC 7617), for Authorization and Proxy-Authorization.
std::string basic_authorization(std::string_view user_colon_password);

}  // namespace tunnel::transport
