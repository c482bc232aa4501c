#pragma once
// Test harness: everything runs on real loopback sockets, every wait has a deadline.

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/frame.hpp"
#include "runner/tunnel_listener.hpp"
#include "runner/tunnel_peer.hpp"

namespace tunnel::test {

namespace asio = boost::asio;

// A cross build's tests run under an emulator (qemu-user runs the arm64 build's tests here), and so
// do the clients they start: client_path() is then a script that runs client_binary() under it.
#ifdef TUNNEL_TEST_EMULATOR
inline constexpr char const* emulator_path = TUNNEL_TEST_EMULATOR;
#else
inline constexpr char const* emulator_path = nullptr;
#endif

// A client's memory figures mean something only without a sanitizer and without an emulator: ASan
// keeps freed memory in quarantine (so its high-water mark follows how many bytes went through, not
// what is held), TSan adds shadow memory, and /proc/PID/status of an emulated client is the
// emulator's (its translated code included). Bounds on them are checked in the plain native builds.
#if defined(TUNNEL_TESTS_SANITIZED)
inline constexpr char const* memory_figures_meaningless_because =
    "memory figures are checked in the unsanitized build only";
#elif defined(TUNNEL_TEST_EMULATOR)
inline constexpr char const* memory_figures_meaningless_because =
    "the client runs under an emulator (" TUNNEL_TEST_EMULATOR
    "): /proc/PID/status shows the emulator's memory";
#else
inline constexpr char const* memory_figures_meaningless_because = nullptr;
#endif
inline constexpr bool memory_figures_meaningful = memory_figures_meaningless_because == nullptr;

// A sanitized client starts, handles each event and exits several times slower (TSan most). An
// upper bound on how long the client takes, when the bound is what a test checks, is
// scaled_for_build(bound): the bound itself in the plain builds, a multiple of it under a sanitizer.
#ifdef TUNNEL_TESTS_SANITIZED
inline constexpr int sanitizer_slowdown = 4;
#else
inline constexpr int sanitizer_slowdown = 1;
#endif
constexpr std::chrono::milliseconds scaled_for_build(std::chrono::milliseconds bound) {
    return bound * sanitizer_slowdown;
}
using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;
using bytes = std::vector<std::uint8_t>;

// The whole of a text file; empty when it cannot be read (yet).
std::string read_file(std::string const& path);

// Runs body on ioc until it returns; fails the test when it throws or is not done within limit.
void run_test(asio::io_context& ioc, std::function<asio::awaitable<void>()> body,
              std::chrono::milliseconds limit = 60s);

// Paces a test actor (a slow reader, a quiet period). Never used to wait for an outcome.
asio::awaitable<void> pause(std::chrono::milliseconds d);

// Re-checks pred every 5 ms until it holds; throws naming `what` after timeout.
asio::awaitable<void> wait_until(std::function<bool()> pred, std::chrono::milliseconds timeout,
                                 std::string const& what);

// The non-empty lines of text (a log), in order.
std::vector<std::string> lines_of(std::string const& text);

// ---- tunnel-client as a child process -------------------------------------------------------

// What the tests run as tunnel-client (the client, or a script that runs it under the emulator).
std::string client_path();
// The client's executable itself.
std::string client_binary();

class client_process {
public:
    // Runs tunnel-client with args; env entries are added to (or override) the environment,
    // an empty value removes the variable. stdout+stderr go to a log file. max_open_files, when
    // not 0, is the child's RLIMIT_NOFILE soft limit (capped at the hard limit).
    explicit client_process(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                            std::size_t max_open_files = 0);
    // Runs program (an absolute path: a wrapper such as unshare, or any other executable) with args
    // instead of tunnel-client, with the same environment handling and log.
    static std::unique_ptr<client_process> run_program(std::string program, std::vector<std::string> args,
                                                       std::map<std::string, std::string> env = {});
    ~client_process();
    client_process(client_process const&) = delete;

    pid_t pid() const { return pid_; }
    void send_signal(int sig);
    // Exit code once the process has ended (128+N for signal N), nullopt while it runs.
    std::optional<int> poll_exit();
    asio::awaitable<std::optional<int>> wait_exit(std::chrono::milliseconds timeout);
    std::optional<int> wait_exit_blocking(std::chrono::milliseconds timeout);
    std::string log() const;
    std::size_t rss_kib() const;  // VmRSS
    std::size_t hwm_kib() const;  // VmHWM
    std::size_t open_sockets() const;

private:
    client_process(std::string program, std::vector<std::string> args, std::map<std::string, std::string> env,
                   std::size_t max_open_files, bool);
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string log_path_;
};

// The usual command line for a client of the runner on runner_port.
std::vector<std::string> client_args(std::uint16_t runner_port, std::string const& container_id,
                                     std::vector<std::string> extra = {});

// ---- raw protocol helpers --------------------------------------------------------------------

struct frame {
    protocol::header header;
    bytes payload;
    protocol::msg_type type() const { return header.kind(); }
    std::string text() const { return std::string(payload.begin(), payload.end()); }
};

// The next tunnel client to connect, or a failure after timeout.
asio::awaitable<std::shared_ptr<runner::tunnel_peer>> accept_peer(runner::tunnel_listener& listener,
                                                                  std::chrono::milliseconds timeout = 10s);

// The next message from the client; fails on a text message, a short one, the end, or a timeout.
asio::awaitable<frame> next_frame(runner::tunnel_peer& peer, std::chrono::milliseconds timeout = 10s);
// The next frame, which must be of this type and client_id (throws with what came instead).
asio::awaitable<frame> expect_frame(runner::tunnel_peer& peer, protocol::msg_type type,
                                    std::uint32_t client_id, std::chrono::milliseconds timeout = 10s);
// Sends PING(id) and waits for its PONG, collecting every frame that came before it.
asio::awaitable<std::vector<frame>> barrier(runner::tunnel_peer& peer, std::uint32_t ping_id,
                                            std::chrono::milliseconds timeout = 10s);

protocol::frame_bytes make_frame(protocol::msg_type type, protocol::proto p, std::uint32_t id,
                                 std::uint16_t port, std::span<std::uint8_t const> payload = {});
protocol::frame_bytes make_frame(protocol::msg_type type, protocol::proto p, std::uint32_t id,
                                 std::uint16_t port, std::string_view payload);

// ---- data -----------------------------------------------------------------------------------

bytes pattern(std::size_t n, std::uint32_t seed);  // deterministic pseudo-random bytes
std::string sha256_hex(std::span<std::uint8_t const> data);

class sha256 {
public:
    sha256();
    ~sha256();
    void update(std::span<std::uint8_t const> data);
    std::string hex();

private:
    void* ctx_;
};

// ---- sockets --------------------------------------------------------------------------------

asio::awaitable<tcp::socket> connect_tcp(std::uint16_t port,
                                         asio::ip::address address = asio::ip::address_v4::loopback());
asio::awaitable<void> write_all(tcp::socket& s, std::span<std::uint8_t const> data);
asio::awaitable<bytes> read_exact(tcp::socket& s, std::size_t n);
// Writes data while reading the same amount back (an echo on the far side); returns the echo's hash.
asio::awaitable<std::string> echo_round_trip(tcp::socket& s, bytes const& data);
// Opens `connections` connections to port at once; connection i echoes its own pattern of
// bytes_each + i bytes. Returns how many came back intact (all of them finish within timeout).
asio::awaitable<int> concurrent_echoes(std::uint16_t port, int connections, std::size_t bytes_each,
                                       std::chrono::milliseconds timeout = 60s);
// Reads until EOF (or error); returns what came.
asio::awaitable<bytes> read_to_eof(tcp::socket& s);

// A local service on the container side: accepts on address:0 and runs handler per connection.
class tcp_service {
public:
    using handler = std::function<asio::awaitable<void>(tcp::socket)>;
    tcp_service(asio::any_io_executor ex, handler h,
                asio::ip::address address = asio::ip::address_v4::loopback());
    ~tcp_service();
    std::uint16_t port() const;
    std::size_t accepted() const { return *accepted_; }
    std::size_t finished() const { return *finished_; }
    void close();

private:
    tcp::acceptor acceptor_;
    std::shared_ptr<std::size_t> accepted_ = std::make_shared<std::size_t>(0);
    std::shared_ptr<std::size_t> finished_ = std::make_shared<std::size_t>(0);
};

asio::awaitable<void> echo_handler(tcp::socket s);

// What a sink connection received.
struct sink_record {
    std::size_t bytes = 0;
    std::string sha;
    bool eof = false;
};

// Reads everything into records[i] (one entry per connection, in accept order).
tcp_service::handler sink_handler(std::shared_ptr<std::vector<sink_record>> records);

// Like sink_handler, but reads nothing for `delay` first (a slow service: bytes pile up upstream).
tcp_service::handler late_sink_handler(std::chrono::milliseconds delay,
                                       std::shared_ptr<std::vector<sink_record>> records);

// Writes `data` then closes.
tcp_service::handler source_handler(std::shared_ptr<bytes const> data);

// A UDP echo on address:0; counts datagrams.
class udp_echo {
public:
    explicit udp_echo(asio::any_io_executor ex, asio::ip::address address = asio::ip::address_v4::loopback());
    std::uint16_t port() const;
    std::size_t datagrams() const { return *count_; }
    void close();

private:
    std::shared_ptr<udp::socket> socket_;
    std::shared_ptr<std::size_t> count_ = std::make_shared<std::size_t>(0);
};

// A TLS server context with a fresh self-signed certificate for "localhost" (for wss:// tests).
std::shared_ptr<asio::ssl::context> self_signed_server_context();

// A port on 127.0.0.1 with nothing listening (bound then released).
std::uint16_t unused_tcp_port();
std::uint16_t unused_udp_port();

}  // namespace tunnel::test
