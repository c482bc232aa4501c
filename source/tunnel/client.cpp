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

transport::dial_options dial_options_for(client_config const& config) {
    transport::dial_options o;
    o.endpoint = config.endpoint;
    o.connect_timeout = config.connect_timeout;
    o.keepalive_timeout = config.keepalive_timeout;
    o.max_message = config.max_message;
    o.tls_insecure = config.tls_insecure;
    o.user_agent = std::string("tunnel-client/") + TUNNEL_VERSION;
    return o;
}

client::client(asio::any_io_executor ex, client_config config,
               std::function<asio::awaitable<transport::dial_result>()> dial)
    // One thread needs no strand: its handlers never run concurrently, and a strand would cost a
    // lock and a queue hop per handler.
    : io_(ex),
      strand_(config.threads > 1 ? asio::any_io_executor(asio::make_strand(ex)) : ex),
      config_(std::move(config)),
      dial_(std::move(dial)),
      delay_(strand_) {
    if (!dial_)
        dial_ = [this, options = dial_options_for(config_)] { return transport::dial_websocket(strand_, options); };
}

void client::stop() {
    asio::post(strand_, [this] {
        stop_requested_ = true;
        delay_.cancel();
        if (current_) current_->stop();
    });
}

asio::awaitable<int> client::run() {
    backoff schedule(config_.backoff);
    while (!stop_requested_) {
        session_outcome outcome;
        try {
            session s(io_, strand_, config_, dial_);
            current_ = &s;
            outcome = co_await s.run();
            current_ = nullptr;
        } catch (std::exception const& e) {
            // A broken session ends alone: its links are told to close, and the client redials.
            current_ = nullptr;
            outcome = session_outcome{false, {}, std::string("internal error: ") + e.what()};
            log_error("session failed", {{"reason", outcome.reason}});
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
            delay_.expires_after(delay);
            co_await delay_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
    log_info("stopped");
    co_return 0;
}

}  // namespace tunnel
