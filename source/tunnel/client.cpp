#include "tunnel/client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "log/logging.hpp"
#include "tunnel/backoff.hpp"
#include "tunnel/session.hpp"

namespace tunnel {

namespace asio = boost::asio;

std::variant<transport::dial_options, std::string> dial_options_for(client_config const& config,
                                                                    transport::trust_lookup const& trust) {
    auto const& reach = config.reach;
    transport::dial_options o;
    o.endpoint = config.endpoint;
    o.connect_timeout = config.connect_timeout;
    o.keepalive_timeout = config.keepalive_timeout;
    o.max_message = config.max_message;
    o.user_agent = std::string("tunnel-client/") + TUNNEL_VERSION;
    o.headers = reach.headers;
    o.proxy = reach.proxy;
    o.tls_server_name = reach.tls_server_name;
    o.verify_peer = !reach.tls_insecure;

    // TLS files are checked even for ws://: a typo should not wait for the day the URL changes.
    bool const tls_files = !reach.ca_file.empty() || !reach.tls_cert.empty() || !reach.tls_key.empty();
    if (config.endpoint.tls || tls_files) {
        transport::tls_client_settings settings;
        settings.insecure = reach.tls_insecure;
        settings.cert_file = reach.tls_cert;
        settings.key_file = reach.tls_key;
        if (!reach.tls_insecure && (config.endpoint.tls || !reach.ca_file.empty())) {
            auto found = transport::find_ca_source(reach.ca_file, trust);
            if (auto const* error = std::get_if<std::string>(&found)) return *error;
            settings.trust = std::get<transport::ca_source>(found);
            log_debug("TLS trust", {{"ca_source", settings.trust.describe()}});
        }
        auto context = transport::make_tls_client_context(settings);
        if (auto const* error = std::get_if<std::string>(&context)) return *error;
        o.tls_context = std::get<0>(std::move(context));
    }
    if (!reach.headers.empty()) {
        std::string names;  // names only: values may be secrets
        for (auto const& h : reach.headers) names += (names.empty() ? "" : ",") + h.name;
        log_debug("extra upgrade headers", {{"names", names}});
    }
    if (reach.proxy)
        log_info("using HTTP proxy", {{"proxy", reach.proxy->display()}, {"from", reach.proxy_origin}});
    else if (!reach.proxy_skipped.empty())
        log_info("not using a proxy", {{"reason", reach.proxy_skipped}});
    return o;
}

client::client(asio::any_io_executor ex, client_config config, transport::dial_options options)
    : client(ex, std::move(config), std::function<asio::awaitable<transport::dial_result>()>{}) {
    dial_ = [this, options = std::move(options)] { return transport::dial_websocket(strand_, options); };
}

client::client(asio::any_io_executor ex, client_config config,
               std::function<asio::awaitable<transport::dial_result>()> dial)
    // One thread needs no strand: its handlers never run concurrently, and a strand would cost a
    // lock and a queue hop per handler.
    : io_(ex),
      strand_(config.threads > 1 ? asio::any_io_executor(asio::make_strand(ex)) : ex),
      config_(std::move(config)),
      dial_(std::move(dial)),
      delay_(strand_) {}

void client::stop() {
    asio::post(strand_, [this] {
        stop_requested_ = true;
        board_->set_state(tunnel_state::stopping);
        delay_.cancel();
        if (current_) current_->stop();
    });
}

asio::awaitable<int> client::run() {
    backoff schedule(config_.backoff);
    while (!stop_requested_) {
        session_outcome outcome;
        try {
            session s(io_, strand_, config_, dial_, {}, board_);
            current_ = &s;
            outcome = co_await s.run();
            current_ = nullptr;
        } catch (std::exception const& e) {
            // A broken session ends alone: its links are told to close, and the client redials.
            current_ = nullptr;
            outcome = session_outcome{false, {}, std::string("internal error: ") + e.what()};
            log_error("session failed", {{"reason", outcome.reason}});
            board_->record_error(outcome.reason);
        }
        if (stop_requested_) break;

        // A session counts as up once it lasted: one that drops at once (e.g. replaced by another
        // tunnel with the same id) is a failure, or the client would redial in a hot loop.
        auto const stable_after =
            std::max<std::chrono::steady_clock::duration>(std::chrono::seconds(1), config_.backoff.base);
        if (outcome.came_up && outcome.up_for >= stable_after) {
            schedule.record_session_up();
        } else {
            schedule.record_failure();
            if (config_.max_reconnect != 0 && schedule.failures() >= config_.max_reconnect) {
                log_error("giving up: runner unreachable",
                          {{"attempts", schedule.failures()}, {"reason", outcome.reason}});
                co_return 1;
            }
        }
        auto const delay = schedule.next_delay();
        if (delay.count() > 0) {
            log_info("reconnecting", {{"delay_ms", delay.count()}, {"failures", schedule.failures()}});
            board_->set_state(tunnel_state::backing_off);
            delay_.expires_after(delay);
            co_await delay_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
    log_info("stopped");
    co_return 0;
}

}  // namespace tunnel
