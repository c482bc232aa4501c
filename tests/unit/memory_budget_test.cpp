#include "tunnel/memory_budget.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "temp_dir.hpp"

using namespace tunnel;
namespace fs = std::filesystem;

namespace {
constexpr std::size_t MiB = 1024 * 1024;

// A fake /sys/fs/cgroup with the given files, removed at the end of the test.
struct fake_cgroup {
    tunnel::test::temp_dir dir{"cgroup-test"};
    std::string root = dir.path();
    void write(std::string const& file, std::string const& text) {
        fs::create_directories(fs::path(root + file).parent_path());
        std::ofstream(root + file) << text;
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(memory_budget)

BOOST_AUTO_TEST_CASE(cgroup_files_are_read_as_the_kernel_writes_them) {
    BOOST_TEST(*parse_cgroup_limit("268435456\n") == 268435456u);
    BOOST_TEST(!parse_cgroup_limit("max\n"));
    BOOST_TEST(!parse_cgroup_limit("9223372036854771712\n"));  // cgroup v1: no limit
    BOOST_TEST(!parse_cgroup_limit(""));
    BOOST_TEST(!parse_cgroup_limit("0"));
    BOOST_TEST(!parse_cgroup_limit("12ab"));
    BOOST_TEST(!parse_cgroup_limit("-1"));
    BOOST_TEST(!parse_cgroup_limit("999999999999999999999999"));
}

BOOST_AUTO_TEST_CASE(own_cgroup_then_the_root_v2_then_v1) {
    fake_cgroup none;
    none.write("/self", "0::/\n");
    BOOST_TEST(!find_memory_limit(none.root, none.root + "/self"));

    // In a container (cgroup namespace): "0::/" and the root's memory.max is the container's.
    fake_cgroup v2;
    v2.write("/self", "0::/\n");
    v2.write("/memory.max", "536870912\n");
    v2.write("/memory/memory.limit_in_bytes", "1073741824\n");
    auto const a = find_memory_limit(v2.root, v2.root + "/self");
    BOOST_REQUIRE(a);
    BOOST_TEST(a->bytes == 536870912u);
    BOOST_TEST(a->source == v2.root + "/memory.max");

    // On a host: the process's own cgroup first.
    fake_cgroup host;
    host.write("/self", "0::/system.slice/app.service\n");
    host.write("/system.slice/app.service/memory.max", "268435456\n");
    auto const h = find_memory_limit(host.root, host.root + "/self");
    BOOST_REQUIRE(h);
    BOOST_TEST(h->bytes == 268435456u);
    BOOST_TEST(h->source == host.root + "/system.slice/app.service/memory.max");

    // cgroup v1, the memory controller possibly shared with others; no limit in the own group.
    fake_cgroup v1;
    v1.write("/self", "5:cpu,memory:/jobs/7\n1:name=systemd:/\n");
    v1.write("/memory/jobs/7/memory.limit_in_bytes", "1073741824\n");
    v1.write("/memory/memory.limit_in_bytes", "9223372036854771712\n");
    auto const b = find_memory_limit(v1.root, v1.root + "/self");
    BOOST_REQUIRE(b);
    BOOST_TEST(b->bytes == 1073741824u);
    v1.write("/memory/jobs/7/memory.limit_in_bytes", "9223372036854771712\n");
    BOOST_TEST(!find_memory_limit(v1.root, v1.root + "/self"));

    fake_cgroup unlimited;
    unlimited.write("/self", "0::/\n");
    unlimited.write("/memory.max", "max\n");
    BOOST_TEST(!find_memory_limit(unlimited.root, unlimited.root + "/self"));
}

BOOST_AUTO_TEST_CASE(an_eighth_between_4_and_64_mib) {
    BOOST_TEST(session_buffer_for(std::nullopt) == 64 * MiB);
    BOOST_TEST(session_buffer_for(256 * MiB) == 32 * MiB);
    BOOST_TEST(session_buffer_for(8192 * MiB) == 64 * MiB);
    BOOST_TEST(session_buffer_for(16 * MiB) == 4 * MiB);
    BOOST_TEST(session_buffer_for(1) == 4 * MiB);
    BOOST_TEST(session_buffer_for(100 * MiB) == 100 * MiB / 8);
}

BOOST_AUTO_TEST_SUITE_END()
