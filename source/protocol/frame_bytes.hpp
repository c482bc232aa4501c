#pragma once
// The bytes of one encoded frame (header + payload), as sent in one WebSocket message. Growing it
// leaves the new bytes uninitialised: a reader sizes a frame for the most the socket may give and
// then reads into it, so zero-filling a whole frame that the read overwrites at once would be
// wasted work on every frame.

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace tunnel::protocol {

template <typename T>
struct default_init_allocator : std::allocator<T> {
    template <typename U>
    struct rebind {
        using other = default_init_allocator<U>;
    };
    using std::allocator<T>::allocator;

    // Value-initialisation (vector(n), resize(n)) becomes default-initialisation: no zero fill.
    template <typename U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        std::allocator_traits<std::allocator<T>>::construct(static_cast<std::allocator<T>&>(*this), p,
                                                            std::forward<Args>(args)...);
    }
};

using frame_bytes = std::vector<std::uint8_t, default_init_allocator<std::uint8_t>>;

}  // namespace tunnel::protocol
