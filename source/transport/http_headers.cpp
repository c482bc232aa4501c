#include "transport/http_headers.hpp"

#include <openssl/evp.h>

#include <cstddef>
#include <limits>
#include <stdexcept>

#include "transport/ascii.hpp"

namespace tunnel::transport {

namespace {

// RFC 7230 tchar: what a header name may be made of.
bool is_token_char(unsigned char c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    for (char t : std::string_view("!#$%&'*+-.^_`|~"))
        if (c == static_cast<unsigned char>(t)) return true;
    return false;
}

// CR and LF would end the header (request smuggling), NUL truncates it; no other control character
// is valid in a field value either (RFC 7230 field-vchar), only the tab.
bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// Headers the WebSocket handshake owns: a user value would break or duplicate them.
bool is_reserved(std::string_view name) {
    for (std::string_view r : {"Host", "Upgrade", "Connection", "Content-Length", "Transfer-Encoding"})
        if (iequals_ascii(name, r)) return true;
    constexpr std::string_view websocket = "Sec-WebSocket-";
    return name.size() >= websocket.size() && iequals_ascii(name.substr(0, websocket.size()), websocket);
}

// The name as it can appear in a one-line message: control and non-ASCII bytes as \xNN.
std::string quoted(std::string_view name) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "'";
    for (unsigned char c : name) {
        if (c < 0x20 || c >= 0x7F) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "'";
}

}  // namespace

std::variant<http_header, std::string> parse_header(std::string_view line) {
    // Nothing after the colon is ever quoted: a value is often a token. Without a colon the whole
    // line may be one, so nothing of it is quoted.
    auto const colon = line.find(':');
    if (colon == std::string_view::npos) return std::string("a header has no ':' (expected 'Name: value')");
    std::string_view const name = line.substr(0, colon);
    if (name.empty()) return std::string("a header has an empty name (expected 'Name: value')");
    for (char c : name)
        if (!is_token_char(static_cast<unsigned char>(c)))
            return "header " + quoted(name) + " has an invalid name";
    if (is_reserved(name)) return "header " + quoted(name) + " is set by the client itself";
    std::string_view const value = trim_blanks(line.substr(colon + 1));
    for (char c : line.substr(colon + 1))
        if (is_control(static_cast<unsigned char>(c)))
            return "header " + quoted(name) + " has a control character (CR, LF, NUL...) in its value";
    return http_header{std::string(name), std::string(value)};
}

std::variant<std::vector<http_header>, std::string> parse_header_list(std::string_view text) {
    std::vector<http_header> headers;
    std::size_t number = 0;
    while (!text.empty()) {
        auto const end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim_blanks(line).empty()) continue;
        auto parsed = parse_header(line);
        if (auto const* error = std::get_if<std::string>(&parsed))
            return "line " + std::to_string(number) + ": " + *error;
        headers.push_back(std::move(std::get<http_header>(parsed)));
    }
    return headers;
}

std::string basic_authorization(std::string_view user_colon_password) {
    // EVP_EncodeBlock takes an int; a command-line or environment string is far below that (a
    // single one is at most 128 KiB on Linux).
    if (user_colon_password.size() > std::numeric_limits<int>::max() / 4 * 3)
        throw std::length_error("credentials too long for Basic authorization");
    std::string out = "Basic ";
    std::size_t const prefix = out.size();
    out.resize(prefix + (user_colon_password.size() + 2) / 3 * 4 + 1);  // + 1: the NUL it writes
    int const written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + prefix),
                                        reinterpret_cast<unsigned char const*>(user_colon_password.data()),
                                        static_cast<int>(user_colon_password.size()));
    out.resize(prefix + static_cast<std::size_t>(written));
    return out;
}

}  // namespace tunnel::transport
