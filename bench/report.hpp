#pragma once
// Output: the readable table (medians over rounds, one column per target, ratio columns) and the
// JSON file with every sample.

#include <ostream>
#include <string>
#include <vector>

#include "measure.hpp"
#include "options.hpp"

namespace bench {

struct run_info {
    std::string date;  // UTC, ISO 8601
    std::string hostname;
    unsigned nproc = 0;
    std::string kernel;
    std::string cpu_model;
    std::string loadavg;  // /proc/loadavg at the start: a busy machine makes every figure noisier
};
run_info describe_machine();

struct bench_report {
    run_info machine;
    bench_options const& opt;
    std::vector<target> targets;
    std::vector<std::string> relay_commands;  // socat command lines (with placeholder ports)
    std::vector<measurement> measurements;
    std::vector<std::string> notes;
};

void print_table(std::ostream& out, bench_report const& report);
// Throws on I/O failure.
void write_json(std::string const& path, bench_report const& report);

}  // namespace bench
