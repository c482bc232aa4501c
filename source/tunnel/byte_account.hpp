#pragma once
// Flow control's one owner: a byte_account counts the bytes held for one purpose (waiting for the
// local sockets, waiting for the WebSocket) against a limit, from any thread; a byte_lease is one
// holder's share of it, and gives back whatever it still holds when it goes, so no path can forget.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace tunnel {

class byte_account {
public:
    explicit byte_account(std::size_t limit) : limit_(limit) {}
    byte_account(byte_account const&) = delete;
    byte_account& operator=(byte_account const&) = delete;

    std::size_t used() const { return used_.load(); }
    std::size_t limit() const { return limit_; }
    bool full() const { return used() >= limit_; }

    void add(std::size_t n) { used_.fetch_add(n); }
    // Gives n bytes back and wakes whoever asked to hear of it.
    void remove(std::size_t n) {
        if (n == 0) return;
        used_.fetch_sub(n);
        if (has_waiters_.load()) wake_all();
    }

    // Calls wake() once, from the thread that next gives bytes back. Register first, then recheck
    // the condition waited for (a release between the two is never missed); a wake may therefore
    // come after the condition already held, so it must be harmless (a "look again").
    void notify_on_release(std::function<void()> wake) {
        std::lock_guard lock(mutex_);
        waiters_.push_back(std::move(wake));
        has_waiters_.store(true);
    }

private:
    void wake_all() {
        std::vector<std::function<void()>> woken;
        {
            std::lock_guard lock(mutex_);
            woken.swap(waiters_);
            has_waiters_.store(false);
        }
        for (auto& w : woken) w();
    }

    std::atomic<std::size_t> used_{0};
    std::size_t const limit_;
    std::atomic<bool> has_waiters_{false};
    std::mutex mutex_;
    std::vector<std::function<void()>> waiters_;
};

class byte_lease {
public:
    explicit byte_lease(byte_account& account) : account_(&account) {}
    ~byte_lease() { release_all(); }
    byte_lease(byte_lease const&) = delete;
    byte_lease& operator=(byte_lease const&) = delete;

    std::size_t held() const { return held_.load(); }
    void add(std::size_t n) {
        held_.fetch_add(n);
        account_->add(n);
    }
    void release(std::size_t n) {
        n = std::min(n, held_.load());
        held_.fetch_sub(n);
        account_->remove(n);
    }
    void release_all() { release(held_.load()); }

private:
    byte_account* account_;
    std::atomic<std::size_t> held_{0};
};

}  // namespace tunnel
