#pragma once
// A FIFO of byte chunks on their way to a local socket, written from the front, possibly a part
// at a time. It allocates nothing while empty (std::deque allocates ~600 bytes up front, which
// 10,000 idle connections would pay for nothing).

#include <boost/asio/buffer.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tunnel {

class chunk_queue {
public:
    using chunk = std::vector<std::uint8_t>;

    bool empty() const { return head_ == chunks_.size(); }
    std::size_t chunks() const { return chunks_.size() - head_; }
    void push_back(chunk c) { chunks_.push_back(std::move(c)); }  // (empty: a UDP datagram may be)
    // The front chunk, whole, and what is left of it to write.
    chunk const& front() const { return chunks_[head_]; }
    boost::asio::const_buffer front_rest() const {
        return boost::asio::buffer(chunks_[head_]) + front_written_;
    }

    // Up to out.size() buffers from the front, for one gather write; returns how many.
    std::size_t gather(std::span<boost::asio::const_buffer> out) const {
        std::size_t n = 0;
        for (std::size_t i = head_; i < chunks_.size() && n < out.size(); ++i, ++n)
            out[n] = boost::asio::buffer(chunks_[i]) + (i == head_ ? front_written_ : 0);
        return n;
    }

    // n bytes from the front were written: whole chunks go, a part of one is remembered.
    void consume(std::size_t n) {
        while (n > 0 && !empty()) {
            std::size_t const left = chunks_[head_].size() - front_written_;
            if (n < left) {
                front_written_ += n;
                return;
            }
            n -= left;
            pop_front();
        }
    }

    void pop_front() {
        front_written_ = 0;
        if (++head_ == chunks_.size())
            clear();
        else if (head_ >= 32 && head_ * 2 >= chunks_.size())
            compact();
    }

    // Drops everything (and the memory). A write in flight must not be using the chunks.
    void clear() {
        chunks_.clear();
        chunks_.shrink_to_fit();
        head_ = 0;
        front_written_ = 0;
    }

private:
    void compact() {
        chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }

    std::vector<chunk> chunks_;
    std::size_t head_ = 0;
    std::size_t front_written_ = 0;  // bytes of the front chunk already written
};

}  // namespace tunnel
