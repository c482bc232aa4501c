// tunnel-runner: a runner emulator. Accepts tunnel clients at ws://LISTEN/ws/tunnel/{id} and
// forwards local TCP/UDP ports into their containers, e.g. --forward 9000:demo:8080.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/program_options.hpp>
#include <iostream>

#include "log/logging.hpp"
#include "cli/parse.hpp"
#include "runner/forwarder.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace tunnel;

int main(int argc, char** argv) {
    po::options_description desc("tunnel-runner: a runner emulator for tunnel-client\n\nOptions");
    desc.add_options()("help,h", "show this help")(
        "listen,l", po::value<std::string>()->default_value("127.0.0.1:8001"),
        "tunnel WebSocket address HOST:PORT")("forward,f", po::value<std::vector<std::string>>(),
                                              "LISTEN_PORT:CONTAINER_ID:PORT[/udp], repeatable")(
        "tls-cert", po::value<std::string>(), "serve wss:// with this certificate chain (PEM), with --tls-key")(
        "tls-key", po::value<std::string>(), "private key (PEM) of --tls-cert")(
        "tls-client-ca", po::value<std::string>(), "require client certificates signed by these CAs (PEM)")(
        "require-header", po::value<std::vector<std::string>>(),
        "'NAME: VALUE' every upgrade must carry (else 401), repeatable")(
        "keepalive-timeout", po::value<std::string>()->default_value("40"),
        "seconds; ping clients at half, drop at full")("log-level",
                                                       po::value<std::string>()->default_value("info"),
                                                       "trace, debug, info, warn, error or off");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
    } catch (po::error const& e) {
        std::cerr << cli::usage_error_text("tunnel-runner", e.what());
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    auto fail = [](std::string const& what) {
        std::cerr << cli::usage_error_text("tunnel-runner", what);
        return 2;
    };
    auto level = parse_log_level(vm["log-level"].as<std::string>());
    if (!level) return fail("invalid --log-level");
    auto keepalive = cli::parse_seconds(vm["keepalive-timeout"].as<std::string>());
    if (!keepalive || keepalive->count() == 0) return fail("invalid --keepalive-timeout");

    std::string const listen = vm["listen"].as<std::string>();
    auto const colon = listen.rfind(':');
    boost::system::error_code ec;
    auto address = asio::ip::make_address(listen.substr(0, colon == std::string::npos ? 0 : colon), ec);
    auto port = colon == std::string::npos ? std::nullopt : cli::parse_count(listen.substr(colon + 1));
    if (ec || !port || *port > 65535) return fail("invalid --listen '" + listen + "': expected HOST:PORT");

    std::vector<runner::forward_spec> forwards;
    if (vm.count("forward"))
        for (auto const& text : vm["forward"].as<std::vector<std::string>>()) {
            auto spec = runner::parse_forward(text);
            if (!spec)
                return fail("invalid --forward '" + text + "': expected LISTEN_PORT:CONTAINER_ID:PORT[/udp]");
            forwards.push_back(*spec);
        }

    runner::listener_options options;
    options.keepalive_timeout = *keepalive;
    if (vm.count("require-header"))
        for (auto const& text : vm["require-header"].as<std::vector<std::string>>()) {
            auto const colon = text.find(':');
            if (colon == std::string::npos || colon == 0)
                return fail("invalid --require-header '" + text + "': expected 'NAME: VALUE'");
            auto value = text.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            options.required_headers.emplace_back(text.substr(0, colon), value);
        }
    if (vm.count("tls-cert") != vm.count("tls-key")) return fail("--tls-cert and --tls-key go together");
    if (vm.count("tls-client-ca") && !vm.count("tls-cert")) return fail("--tls-client-ca needs --tls-cert");
    if (vm.count("tls-cert")) {
        auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
        auto const cert = vm["tls-cert"].as<std::string>();
        auto const key = vm["tls-key"].as<std::string>();
        boost::system::error_code tec;
        ctx->use_certificate_chain_file(cert, tec);
        if (tec) return fail("--tls-cert " + cert + ": " + tec.message());
        ctx->use_private_key_file(key, asio::ssl::context::pem, tec);
        if (tec) return fail("--tls-key " + key + ": " + tec.message());
        if (vm.count("tls-client-ca")) {
            auto const ca = vm["tls-client-ca"].as<std::string>();
            ctx->load_verify_file(ca, tec);
            if (tec) return fail("--tls-client-ca " + ca + ": " + tec.message());
            ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
        }
        options.tls = std::move(ctx);
    }

    init_logging(*level, log_format::text);
    asio::io_context ioc(1);
    try {
        runner::emulator emu(ioc.get_executor(), {address, static_cast<std::uint16_t>(*port)}, forwards,
                             options);
        emu.start();
        log_info("runner: listening",
                 {{"url", std::string(options.tls ? "wss://" : "ws://") + listen + "/ws/tunnel/{container_id}"}});
        for (std::size_t i = 0; i < forwards.size(); ++i)
            log_info("runner: forwarding",
                     {{"listen", emu.forward_port(i)},
                      {"container_id", forwards[i].container_id},
                      {"port", forwards[i].target_port},
                      {"proto", protocol::proto_name(static_cast<std::uint8_t>(forwards[i].proto))}});
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code, int) {
            emu.stop();
            ioc.stop();
        });
        ioc.run();
    } catch (boost::system::system_error const& e) {
        std::cerr << "tunnel-runner: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
