#pragma once
// An owner for child coroutines, after the task_group of Beast's server-flex-awaitable example:
// each child is co_spawn'd with a cancellation signal of its own; emit() cancels every child and
// wait() returns once the last one has ended, so that nothing outlives its owner. A child may
// run on another executor than the group (a strand of its own): its cancellation is delivered
// there, never from another thread. Each child carries a value (the object it serves), which
// for_each() visits. A child that knows its executor (child->executor()) is not told it twice:
// thousands of children may wait at once, and an executor is 56 bytes. Call everything on the
// group's executor. Header-only: a template.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <concepts>
#include <cstddef>
#include <exception>
#include <type_traits>
#include <list>
#include <memory>
#include <utility>

namespace tunnel::transport {

template <class Child>
class task_group {
public:
    explicit task_group(boost::asio::any_io_executor ex) : state_(std::make_shared<state>(std::move(ex))) {}
    task_group(task_group const&) = delete;
    task_group& operator=(task_group const&) = delete;

    // Starts task on ex, owned by the group until it ends; then on_done(child, exception) runs
    // on ex (exception: what the task threw, if it did). Once the group is closed nothing new is
    // started: false, and the task is dropped unstarted. (on_done is a template parameter: it is
    // kept in the frame of every running child, where a std::function would cost more.)
    template <class OnDone = void (*)(Child&, std::exception_ptr)>
    bool spawn(boost::asio::any_io_executor ex, Child child, boost::asio::awaitable<void> task,
               OnDone on_done = nullptr) {
        auto& s = *state_;
        if (s.closed) return false;
        auto e = std::make_shared<entry>(std::move(child), ex);
        e->self = s.children.insert(s.children.end(), e);
        // The handler has no executor of its own: it runs on ex, where the child's emit runs too.
        boost::asio::co_spawn(
            std::move(ex), std::move(task),
            boost::asio::bind_cancellation_slot(
                e->signal.slot(), [st = state_, e, on_done = std::move(on_done)](std::exception_ptr thrown) {
                    e->ended = true;
                    if constexpr (std::is_pointer_v<OnDone>) {
                        if (on_done) on_done(e->child, thrown);
                    } else {
                        on_done(e->child, thrown);
                    }
                    boost::asio::dispatch(st->ex, [st, e] { st->forget(e); });
                }));
        return true;
    }

    // Cancels every child still running (each on its own executor).
    void emit(boost::asio::cancellation_type type = boost::asio::cancellation_type::terminal) {
        for (auto const& e : state_->children)
            boost::asio::dispatch(e->executor(), [e, type] {
                if (!e->ended) e->signal.emit(type);
            });
    }

    // Takes no new child from now on (those running go on).
    void close() { state_->closed = true; }
    bool closed() const { return state_->closed; }

    std::size_t size() const { return state_->children.size(); }

    template <class Visit>
    void for_each(Visit visit) {
        for (auto const& e : state_->children) visit(e->child);
    }

    // Returns once no child is left (or when the waiting coroutine is cancelled).
    boost::asio::awaitable<void> wait() {
        auto const st = state_;
        while (!st->children.empty()) {
            co_await st->idle.async_wait(boost::asio::as_tuple(boost::asio::deferred));
            auto const cs = co_await boost::asio::this_coro::cancellation_state;
            if (cs.cancelled() != boost::asio::cancellation_type::none) co_return;
        }
    }

private:
    static constexpr bool child_knows_executor = requires(Child const& c) {
        { c->executor() } -> std::convertible_to<boost::asio::any_io_executor>;
    };
    struct no_executor {
        explicit no_executor(boost::asio::any_io_executor const&) {}
    };
    struct entry {
        entry(Child c, boost::asio::any_io_executor const& e) : child(std::move(c)), ex(e) {}
        boost::asio::any_io_executor executor() const {
            if constexpr (child_knows_executor)
                return child->executor();
            else
                return ex;
        }
        Child child;
        [[no_unique_address]] std::conditional_t<child_knows_executor, no_executor, boost::asio::any_io_executor> ex;
        boost::asio::cancellation_signal signal;
        bool ended = false;  // on ex: an emit that comes after the end has nothing to reach
        typename std::list<std::shared_ptr<entry>>::iterator self;
    };
    // Shared with the handlers, so that a child ending after its group is gone stays safe.
    struct state {
        explicit state(boost::asio::any_io_executor e)
            : ex(e), idle(std::move(e), boost::asio::steady_timer::time_point::max()) {}
        void forget(std::shared_ptr<entry> const& e) {
            children.erase(e->self);
            if (children.empty()) idle.cancel();  // wakes wait(); the timer never expires by itself
        }
        boost::asio::any_io_executor ex;
        boost::asio::steady_timer idle;
        std::list<std::shared_ptr<entry>> children;
        bool closed = false;
    };
    std::shared_ptr<state> state_;
};

}  // namespace tunnel::transport
