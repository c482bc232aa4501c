// libFuzzer target: any bytes as one runner message. The decoder must never crash or read out of
// bounds (ASan), and whatever it accepts must encode back to exactly the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/frame.hpp"

using namespace tunnel::protocol;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const parsed = parse({data, size});
    if (size < header_size) {
        if (parsed) __builtin_trap();  // a message shorter than a header is never accepted
        return 0;
    }
    if (!parsed) __builtin_trap();  // every message of header size or more is (unknown types included)
    if (parsed->payload.size() != size - header_size) __builtin_trap();
    auto const again = encode(parsed->header, parsed->payload);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) __builtin_trap();
    // The names used in logs accept any byte.
    (void)type_name(parsed->header.type);
    (void)proto_name(parsed->header.proto);
    return 0;
}
