#pragma once
// Command-line helpers shared by tunnel-client, tunnel-runner and tunnel-bench: sizes, durations,
// counts, and the one-line error every bad input gets (exit code 2).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tunnel::cli {

// Each returns nullopt on bad input.
std::optional<std::chrono::milliseconds> parse_seconds(std::string const& text);  // "5", "0.25"
std::optional<std::size_t> parse_size(std::string const& text);  // bytes, with K/M/G (KiB...) suffix
std::optional<unsigned long> parse_count(std::string const& text);

// "PROGRAM: error: WHAT\n[USAGE\n]Try 'PROGRAM --help' for more.\n"
std::string usage_error_text(std::string_view program, std::string_view what, std::string_view usage = {});

}  // namespace tunnel::cli
