#pragma once
// A FIFO of byte chunks on their way to a local socket, written from the front, possibly a part
// at a time. A chunk is a buffer and where its bytes begin: the runner's whole message can be
// queued as it was read (its header skipped), without a copy. It allocates nothing while empty
// (std::deque allocates ~600 bytes up front, which 10,000 idle connections would pay for nothing).

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocol/frame_bytes.hpp"

namespace tunnel {

class chunk_queue {
public:
    struct chunk {
        protocol::frame_bytes bytes;
        std::size_t begin = 0;  // the bytes before it are not for the socket (or written already)
        std::size_t size() const { return bytes.size() - begin; }
        std::span<std::uint8_t const> data() const { return {bytes.data() + begin, size()}; }
    };

    bool empty() const { return head_ == chunks_.size(); }
    void push_back(chunk c) { chunks_.push_back(std::move(c)); }  // (empty: a UDP datagram may be)
    chunk const& front() const { return chunks_[head_]; }

    // Up to out.size() buffers from the front, for one gather write; returns how many.
    std::size_t gather(std::span<boost::asio::const_buffer> out) const {
        std::size_t n = 0;
        for (std::size_t i = head_; i < chunks_.size() && n < out.size(); ++i, ++n)
            out[n] = boost::asio::buffer(chunks_[i].data().data(), chunks_[i].size());
        return n;
    }

    // n bytes from the front were written: whole chunks go, a part of one is remembered.
    void consume(std::size_t n) {
        while (n > 0 && !empty()) {
            auto& front = chunks_[head_];
            if (n < front.size()) {
                front.begin += n;
                return;
            }
            n -= front.size();
            pop_front();
        }
    }

    void pop_front() {
        chunks_[head_] = chunk{};  // its memory goes now
        if (++head_ == chunks_.size())
            clear();
        else if (head_ >= 32 && head_ * 2 >= chunks_.size())
            compact();
    }

    // Drops everything (and the memory). No write may be using the chunks.
    void clear() {
        chunks_.clear();
        chunks_.shrink_to_fit();
        head_ = 0;
    }

private:
    void compact() {
        chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }

    std::vector<chunk> chunks_;
    std::size_t head_ = 0;
};

}  // namespace tunnel
