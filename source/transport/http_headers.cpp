#include "transport/http_headers.hpp"

#include <cstddef>
#include <cstdint>

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

std::string base64(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        std::size_t const left = in.size() - i;
        std::uint32_t n = std::uint32_t{static_cast<unsigned char>(in[i])} << 16;
        if (left > 1) n |= std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
        if (left > 2) n |= std::uint32_t{static_cast<unsigned char>(in[i + 2])};
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += left > 1 ? alphabet[(n >> 6) & 63] : '=';
        out += left > 2 ? alphabet[n & 63] : '=';
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
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
    return "Basic " + base64(user_colon_password);
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (text.size() - i < 3) return std::nullopt;
        int const high = hex_value(text[i + 1]);
        int const low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

}  // namespace tunnel::transport
