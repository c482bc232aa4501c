#pragma once
// A FIFO of byte chunks that allocates nothing while empty (std::deque allocates ~600 bytes up
// front, which 10,000 idle connections would pay for nothing).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tunnel {

class chunk_queue {
public:
    using chunk = std::vector<std::uint8_t>;

    bool empty() const { return head_ == chunks_.size(); }
    chunk& front() { return chunks_[head_]; }
    void push_back(chunk c) { chunks_.push_back(std::move(c)); }
    void pop_front() {
        if (++head_ == chunks_.size())
            clear();
        else if (head_ >= 32 && head_ * 2 >= chunks_.size())
            compact();
    }
    // Drops everything but the front chunk when keep_front (a write of it is in flight).
    void clear(bool keep_front = false) {
        if (keep_front && !empty()) {
            chunk front_chunk = std::move(chunks_[head_]);
            chunks_.clear();
            chunks_.push_back(std::move(front_chunk));
        } else {
            chunks_.clear();
            chunks_.shrink_to_fit();
        }
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
