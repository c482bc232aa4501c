#include "harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace tunnel::test {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void run_test(asio::io_context& ioc, std::function<asio::awaitable<void>()> body,
              std::chrono::milliseconds limit) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
        done = true;
        error = e;
    });
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        ioc.run_one_until(deadline);
        if (ioc.stopped()) ioc.restart();
    }
    if (error) std::rethrow_exception(error);
    BOOST_REQUIRE_MESSAGE(done, "test did not finish within " << limit.count() << " ms");
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_tuple);
}

asio::awaitable<void> wait_until(std::function<bool()> pred, std::chrono::milliseconds timeout,
                                 std::string const& what) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline)
            throw std::runtime_error("timed out waiting for " + what);
        t.expires_after(5ms);
        co_await t.async_wait(use_tuple);
    }
}

// ---- child process ----------------------------------------------------------------------------

std::string client_path() { return TUNNEL_CLIENT_PATH; }
std::string client_binary() { return TUNNEL_CLIENT_BINARY; }

client_process::client_process(std::vector<std::string> args, std::map<std::string, std::string> env,
                               std::size_t max_open_files)
    : client_process(client_path(), std::move(args), std::move(env), max_open_files, true) {}

std::unique_ptr<client_process> client_process::run_program(std::string program,
                                                            std::vector<std::string> args,
                                                            std::map<std::string, std::string> env) {
    return std::unique_ptr<client_process>(
        new client_process(std::move(program), std::move(args), std::move(env), 0, true));
}

client_process::client_process(std::string program, std::vector<std::string> args,
                               std::map<std::string, std::string> env, std::size_t max_open_files, bool) {
    char tmpl[] = "/tmp/tunnel-client-test-XXXXXX";
    int const log_fd = ::mkstemp(tmpl);
    if (log_fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = tmpl;

    // Build argv/envp before fork: nothing but async-signal-safe calls after it.
    std::vector<std::string> argv_store{program};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    // The tests set what they need: nothing inherited may change the client's options.
    for (auto const* name : {"RUNNER_URL", "CONTAINER_ID", "KOHAKURIVER_TUNNEL_URL",
                             "KOHAKURIVER_CONTAINER_ID", "RECONNECT_DELAY", "MAX_RECONNECT", "LOG_LEVEL",
                             // A proxy or trust store of the machine running the tests must not
                             // reroute or change the client's dials to loopback.
                             "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                             "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "TUNNEL_PROXY",
                             "TUNNEL_NO_PROXY", "TUNNEL_HEADERS", "TUNNEL_CA_FILE", "TUNNEL_TLS_SERVER_NAME",
                             "TUNNEL_TLS_CERT", "TUNNEL_TLS_KEY", "TUNNEL_TLS_INSECURE"})
        merged.erase(name);
    for (auto& [k, v] : env) {
        if (v.empty())
            merged.erase(k);
        else
            merged[k] = v;
    }
    std::vector<std::string> env_store;
    for (auto& [k, v] : merged) env_store.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    struct rlimit nofile {};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    if (max_open_files != 0) nofile.rlim_cur = std::min<rlim_t>(max_open_files, nofile.rlim_max);

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int const devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        // Only 0, 1, 2 go to the child: the test's own sockets must not leak into it.
        for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        if (max_open_files != 0) ::setrlimit(RLIMIT_NOFILE, &nofile);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(log_fd);
}

client_process::~client_process() {
    if (!exit_code_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    if (std::getenv("TUNNEL_TEST_KEEP_LOGS") == nullptr) ::unlink(log_path_.c_str());
}

void client_process::send_signal(int sig) {
    if (!exit_code_) ::kill(pid_, sig);
}

std::optional<int> client_process::poll_exit() {
    if (exit_code_) return exit_code_;
    int status = 0;
    pid_t const r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        if (WIFEXITED(status))
            exit_code_ = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            exit_code_ = 128 + WTERMSIG(status);
        else
            exit_code_ = -1;
    }
    return exit_code_;
}

asio::awaitable<std::optional<int>> client_process::wait_exit(std::chrono::milliseconds timeout) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!poll_exit() && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(5ms);
        co_await t.async_wait(use_tuple);
    }
    co_return exit_code_;
}

std::optional<int> client_process::wait_exit_blocking(std::chrono::milliseconds timeout) {
    asio::io_context ioc;
    std::optional<int> result;
    asio::co_spawn(ioc, wait_exit(timeout), [&](std::exception_ptr, std::optional<int> r) { result = r; });
    ioc.run();
    return result;
}

std::string read_file(std::string const& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string client_process::log() const { return read_file(log_path_); }

namespace {
std::size_t status_field_kib(pid_t pid, std::string const& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1));
    return 0;
}
}  // namespace

std::size_t client_process::rss_kib() const { return status_field_kib(pid_, "VmRSS"); }
std::size_t client_process::hwm_kib() const { return status_field_kib(pid_, "VmHWM"); }

std::size_t client_process::open_sockets() const {
    // Sockets only: sanitizer runtimes open pipes of their own (TSan's symbolizer) at any time.
    std::string const dir = "/proc/" + std::to_string(pid_) + "/fd";
    std::size_t n = 0;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            char target[64] = {};
            auto const len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
            if (len > 0 && std::string_view(target, static_cast<std::size_t>(len)).starts_with("socket:")) ++n;
        }
        ::closedir(d);
    }
    return n;
}

std::vector<std::string> client_args(std::uint16_t runner_port, std::string const& container_id,
                                     std::vector<std::string> extra) {
    std::vector<std::string> args{"--runner-url", "ws://127.0.0.1:" + std::to_string(runner_port),
                                  "--container-id", container_id};
    // Defaults for tests, unless extra sets them (an option given twice is an error).
    for (auto const& [flag, value] :
         {std::pair<char const*, char const*>{"--log-level", "debug"}, {"--reconnect-delay", "0.2"}})
        if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
            args.push_back(flag);
            args.push_back(value);
        }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// ---- raw protocol -----------------------------------------------------------------------------

asio::awaitable<std::shared_ptr<runner::tunnel_peer>> accept_peer(runner::tunnel_listener& listener,
                                                                  std::chrono::milliseconds timeout) {
    asio::steady_timer t(co_await asio::this_coro::executor, timeout);
    auto raced = co_await (listener.accept() || t.async_wait(use_tuple));
    if (raced.index() == 1) throw std::runtime_error("timed out waiting for the client to connect");
    auto peer = std::get<0>(raced);
    if (!peer) throw std::runtime_error("listener closed");
    co_return peer;
}

asio::awaitable<frame> next_frame(runner::tunnel_peer& peer, std::chrono::milliseconds timeout) {
    asio::steady_timer t(co_await asio::this_coro::executor, timeout);
    // Racing a websocket read against a timer spoils the stream, which is fine: a timeout fails the test.
    auto raced = co_await (peer.receive() || t.async_wait(use_tuple));
    if (raced.index() == 1) throw std::runtime_error("timed out waiting for a frame from the client");
    auto message = std::get<0>(raced);
    if (!message)
        throw std::runtime_error("tunnel ended while waiting for a frame: " + peer.end_error().message());
    if (!message->binary) throw std::runtime_error("the client sent a text message");
    auto parsed = protocol::parse(message->bytes);
    if (!parsed) throw std::runtime_error("the client sent a message shorter than a header");
    co_return frame{parsed->header, bytes(parsed->payload.begin(), parsed->payload.end())};
}

asio::awaitable<frame> expect_frame(runner::tunnel_peer& peer, protocol::msg_type type,
                                    std::uint32_t client_id, std::chrono::milliseconds timeout) {
    auto f = co_await next_frame(peer, timeout);
    if (f.type() != type || f.header.client_id != client_id) {
        std::ostringstream what;
        what << "expected " << protocol::type_name(static_cast<std::uint8_t>(type)) << " for id " << client_id
             << ", got " << protocol::type_name(f.header.type) << " for id " << f.header.client_id;
        if (f.type() == protocol::msg_type::error) what << " (" << f.text() << ")";
        throw std::runtime_error(what.str());
    }
    co_return f;
}

asio::awaitable<std::vector<frame>> barrier(runner::tunnel_peer& peer, std::uint32_t ping_id,
                                            std::chrono::milliseconds timeout) {
    peer.send(make_frame(protocol::msg_type::ping, protocol::proto::tcp, ping_id, 0));
    std::vector<frame> before;
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        auto f = co_await next_frame(peer, std::max(left, 1ms));
        if (f.type() == protocol::msg_type::pong && f.header.client_id == ping_id) co_return before;
        before.push_back(std::move(f));
    }
}

protocol::frame_bytes make_frame(protocol::msg_type type, protocol::proto p, std::uint32_t id,
                                 std::uint16_t port, std::span<std::uint8_t const> payload) {
    return protocol::encode(protocol::make_header(type, p, id, port), payload);
}

protocol::frame_bytes make_frame(protocol::msg_type type, protocol::proto p, std::uint32_t id,
                                 std::uint16_t port, std::string_view payload) {
    return protocol::encode(protocol::make_header(type, p, id, port), payload);
}

// ---- data -------------------------------------------------------------------------------------

bytes pattern(std::size_t n, std::uint32_t seed) {
    bytes out(n);
    std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (std::size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = static_cast<std::uint8_t>(x >> 24);
    }
    return out;
}

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
sha256::~sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void sha256::update(std::span<std::uint8_t const> data) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[digest[i] >> 4];
        out += digits[digest[i] & 0xF];
    }
    return out;
}

std::string sha256_hex(std::span<std::uint8_t const> data) {
    sha256 h;
    h.update(data);
    return h.hex();
}

// ---- sockets ----------------------------------------------------------------------------------

asio::awaitable<tcp::socket> connect_tcp(std::uint16_t port, asio::ip::address address) {
    tcp::socket s(co_await asio::this_coro::executor);
    co_await s.async_connect(tcp::endpoint(address, port), asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    co_return s;
}

asio::awaitable<void> write_all(tcp::socket& s, std::span<std::uint8_t const> data) {
    co_await asio::async_write(s, asio::buffer(data.data(), data.size()), asio::use_awaitable);
}

asio::awaitable<bytes> read_exact(tcp::socket& s, std::size_t n) {
    bytes out(n);
    co_await asio::async_read(s, asio::buffer(out), asio::use_awaitable);
    co_return out;
}

namespace {
asio::awaitable<void> read_hashed(tcp::socket& s, std::size_t n, std::string& out) {
    sha256 hash;
    std::vector<std::uint8_t> buf(65536);
    while (n > 0) {
        auto got = co_await s.async_read_some(asio::buffer(buf.data(), std::min(n, buf.size())),
                                              asio::use_awaitable);
        hash.update(std::span<std::uint8_t const>(buf.data(), got));
        n -= got;
    }
    out = hash.hex();
}
}  // namespace

asio::awaitable<std::string> echo_round_trip(tcp::socket& s, bytes const& data) {
    std::string hash;
    co_await (write_all(s, data) && read_hashed(s, data.size(), hash));
    co_return hash;
}

asio::awaitable<int> concurrent_echoes(std::uint16_t port, int connections, std::size_t bytes_each,
                                       std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    auto ok = std::make_shared<int>(0);
    auto finished = std::make_shared<int>(0);
    for (int i = 0; i < connections; ++i) {
        asio::co_spawn(
            ex,
            [=]() -> asio::awaitable<void> {
                auto s = co_await connect_tcp(port);
                auto const data =
                    pattern(bytes_each + static_cast<std::size_t>(i), static_cast<std::uint32_t>(1000 + i));
                auto const echoed = co_await echo_round_trip(s, data);
                if (echoed == sha256_hex(data)) ++*ok;
            },
            [finished](std::exception_ptr) { ++*finished; });
    }
    co_await wait_until([&] { return *finished == connections; }, timeout, "concurrent echo connections");
    co_return *ok;
}

asio::awaitable<bytes> read_to_eof(tcp::socket& s) {
    bytes out;
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (ec) break;
    }
    co_return out;
}

tcp_service::tcp_service(asio::any_io_executor ex, handler h, asio::ip::address address)
    : acceptor_(ex, tcp::endpoint(address, 0)) {
    asio::co_spawn(
        ex,
        [this, h, accepted = accepted_, finished = finished_]() -> asio::awaitable<void> {
            for (;;) {
                auto [ec, s] = co_await acceptor_.async_accept(use_tuple);
                if (ec) co_return;
                ++*accepted;
                asio::co_spawn(acceptor_.get_executor(), h(std::move(s)),
                               [finished](std::exception_ptr) { ++*finished; });
            }
        },
        [](std::exception_ptr) {});
}

tcp_service::~tcp_service() { close(); }

std::uint16_t tcp_service::port() const { return acceptor_.local_endpoint().port(); }

void tcp_service::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<void> echo_handler(tcp::socket s) {
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) co_return;
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf.data(), n), use_tuple);
        if (wec) co_return;
    }
}

tcp_service::handler sink_handler(std::shared_ptr<std::vector<sink_record>> records) {
    return [records](tcp::socket s) -> asio::awaitable<void> {
        std::size_t const index = records->size();
        records->emplace_back();
        sha256 hash;
        std::vector<std::uint8_t> buf(65536);
        for (;;) {
            auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
            hash.update(std::span<std::uint8_t const>(buf.data(), n));
            (*records)[index].bytes += n;
            if (ec) {
                (*records)[index].eof = true;
                break;
            }
        }
        (*records)[index].sha = hash.hex();
    };
}

tcp_service::handler late_sink_handler(std::chrono::milliseconds delay,
                                       std::shared_ptr<std::vector<sink_record>> records) {
    auto sink = sink_handler(std::move(records));
    return [delay, sink](tcp::socket s) -> asio::awaitable<void> {
        co_await pause(delay);
        co_await sink(std::move(s));
    };
}

tcp_service::handler source_handler(std::shared_ptr<bytes const> data) {
    return [data](tcp::socket s) -> asio::awaitable<void> {
        [[maybe_unused]] auto [ec, n] = co_await asio::async_write(s, asio::buffer(*data), use_tuple);
        boost::system::error_code ignored;
        s.shutdown(tcp::socket::shutdown_send, ignored);
        // Wait for the peer to close before closing, so nothing we sent is cut by a reset.
        std::uint8_t b[256];
        for (;;) {
            auto [rec, rn] = co_await s.async_read_some(asio::buffer(b), use_tuple);
            if (rec) break;
        }
    };
}

udp_echo::udp_echo(asio::any_io_executor ex, asio::ip::address address)
    : socket_(std::make_shared<udp::socket>(ex, udp::endpoint(address, 0))) {
    asio::co_spawn(
        ex,
        [s = socket_, count = count_]() -> asio::awaitable<void> {
            std::vector<std::uint8_t> buf(65536);
            for (;;) {
                udp::endpoint from;
                auto [ec, n] = co_await s->async_receive_from(asio::buffer(buf), from, use_tuple);
                if (ec == asio::error::operation_aborted || !s->is_open()) co_return;
                if (ec) continue;
                ++*count;
                boost::system::error_code ignored;
                s->send_to(asio::buffer(buf.data(), n), from, 0, ignored);
            }
        },
        [](std::exception_ptr) {});
}

std::uint16_t udp_echo::port() const { return socket_->local_endpoint().port(); }

void udp_echo::close() {
    boost::system::error_code ignored;
    socket_->close(ignored);
}

std::shared_ptr<asio::ssl::context> self_signed_server_context() {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (!key || !cert) throw std::runtime_error("cannot create a test certificate");
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>("localhost"),
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    bool const ok = SSL_CTX_use_certificate(ctx->native_handle(), cert) == 1 &&
                    SSL_CTX_use_PrivateKey(ctx->native_handle(), key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) throw std::runtime_error("cannot load the test certificate");
    return ctx;
}

std::vector<std::string> lines_of(std::string const& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::uint16_t unused_tcp_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return a.local_endpoint().port();
}

std::uint16_t unused_udp_port() {
    asio::io_context ioc;
    udp::socket s(ioc, udp::endpoint(asio::ip::address_v4::loopback(), 0));
    return s.local_endpoint().port();
}

}  // namespace tunnel::test
