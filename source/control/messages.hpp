#pragma once
// The control endpoint's language: one JSON object per line each way. Requests are
// {"cmd":"status"} and {"cmd":"stop"}; every answer has "ok", and "error" when ok is false.
// Pure (no sockets), so both ends and their tests share it.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "tunnel/status_board.hpp"

namespace tunnel::control {

inline constexpr std::size_t max_request = 4096;  // bytes in one request line

// Who answers: the same for every answer of one client.
struct identity {
    long pid = 0;
    std::string version;
    std::string container_id;
    std::string runner;  // the runner URL, without credentials
};

enum class request_kind { status, stop };

// A request, or why it is refused (the text of the error answer).
std::variant<request_kind, std::string> parse_request(std::string_view line);

// Answers, one line each without the newline.
std::string status_answer(identity const& who, client_status const& status);
std::string stop_answer(identity const& who);
std::string error_answer(std::string_view message);
// What a full endpoint answers before it closes the connection: ask again a little later.
std::string busy_answer();

// ---- the asking side ----
// Empty when the answer says ok, else its error (or why it is not an answer at all).
std::string answer_error(std::string_view answer);
// Whether the answer says the endpoint was busy (asking again later may be served).
bool answer_busy(std::string_view answer);
long answer_pid(std::string_view answer);  // 0 when it holds none
// A status answer as a short table for people.
std::string render_status(std::string_view answer);

struct health_verdict {
    int exit_code = 1;  // 0 up, 1 down
    std::string line;   // "up for 5m2s", or why it is down
};
health_verdict health_of(std::string_view answer);

// "3m12s", "2h5m", "850ms": durations for people.
std::string human_duration(double seconds);
// "512 B", "1.5 KiB", "12.0 MiB".
std::string human_bytes(std::uint64_t bytes);

}  // namespace tunnel::control
