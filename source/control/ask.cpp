#include "control/ask.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "control/messages.hpp"
#include "tunnel/backoff.hpp"

namespace tunnel::control {

namespace {
using clock = std::chrono::steady_clock;

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(fd_guard const&) = delete;
    fd_guard& operator=(fd_guard const&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

int remaining_ms(clock::time_point until) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline: false on timeout.
bool wait_for(int fd, short events, clock::time_point until) {
    for (;;) {
        pollfd p{fd, events, 0};
        int const n = ::poll(&p, 1, remaining_ms(until));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return true;  // let the next call report the error
    }
}

ask_result failure(std::string reason) { return {ask_result::outcome::failed, {}, std::move(reason)}; }
}  // namespace

ask_result ask(std::string_view name, std::string_view request, std::chrono::milliseconds deadline,
               bool wait_for_close) {
    auto const until = clock::now() + deadline;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (name.size() > sizeof address.sun_path) return failure("endpoint name too long");
    std::memcpy(address.sun_path, name.data(), name.size());
    auto const length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());

    fd_guard fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return failure(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr const*>(&address), length) != 0) {
        if (errno == ECONNREFUSED || errno == ENOENT) return {ask_result::outcome::nobody, {}, {}};
        // A Unix socket's connect does not wait for room in a full queue: it fails with EAGAIN.
        if (errno == EAGAIN) return {ask_result::outcome::busy, {}, "its connection queue is full"};
        if (errno != EINPROGRESS) return failure(std::string("connect: ") + std::strerror(errno));
        if (!wait_for(fd.get(), POLLOUT, until)) return failure("the client did not accept the connection in time");
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
        if (error == ECONNREFUSED) return {ask_result::outcome::nobody, {}, {}};
        if (error) return failure(std::string("connect: ") + std::strerror(error));
    }

    std::string out(request);
    out += '\n';
    std::size_t sent = 0;
    while (sent < out.size()) {
        ssize_t const n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd.get(), POLLOUT, until)) return failure("timed out sending the request");
            continue;
        }
        // The other side may have answered and closed early (a refused request): read that.
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
        return failure(std::string("send: ") + std::strerror(errno));
    }

    std::string in;
    bool line_done = false;
    char buffer[4096];
    for (;;) {
        if (!wait_for(fd.get(), POLLIN, until)) {
            if (line_done) return failure("the client answered but did not exit in time");
            return failure("no answer in time");
        }
        ssize_t const n = ::recv(fd.get(), buffer, sizeof buffer, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) return failure(std::string("recv: ") + std::strerror(errno));
        if (n == 0) {  // closed
            if (line_done) break;
            if (!in.empty()) return failure("the answer was cut short");
            return failure("the client closed the connection without answering");
        }
        if (line_done) continue;  // after the answer only the close matters
        in.append(buffer, static_cast<std::size_t>(n));
        if (in.size() > (1u << 24)) return failure("answer too long");
        if (auto const end = in.find('\n'); end != std::string::npos) {
            in.resize(end);
            line_done = true;
            if (!wait_for_close) break;
        }
    }
    return {ask_result::outcome::answered, std::move(in), {}};
}

std::chrono::milliseconds busy_pause(unsigned busy_answers, double jitter01) {
    return backoff_delay(backoff_policy{std::chrono::milliseconds(50), std::chrono::milliseconds(500)},
                         busy_answers, jitter01);
}

ask_result ask_until_served(std::string_view name, std::string_view request, std::chrono::milliseconds budget,
                            bool wait_for_close) {
    auto const start = clock::now();
    auto const until = start + budget;
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    for (unsigned busy_answers = 1;; ++busy_answers) {
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
        auto r = ask(name, request, std::max(left, std::chrono::milliseconds(1)), wait_for_close);
        if (r.kind == ask_result::outcome::answered && answer_busy(r.answer))
            r = {ask_result::outcome::busy, {}, answer_error(r.answer)};
        if (r.kind != ask_result::outcome::busy) return r;
        auto const pause = busy_pause(busy_answers, jitter(rng));
        if (clock::now() + pause >= until) {
            auto const tried = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
            r.reason += " (still, after " + std::to_string(busy_answers) + " tries in " +
                        std::to_string(tried.count()) + " ms)";
            return r;
        }
        std::this_thread::sleep_for(pause);
    }
}

}  // namespace tunnel::control
