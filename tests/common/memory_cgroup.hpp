#pragma once
// A memory cgroup of one test's own with a limit, made under /sys/fs/cgroup as mounted there (the
// v1 memory controller, or v2 with memory enabled at the root) and removed when it goes. Where
// nothing under /sys/fs/cgroup has the memory controller (a bare root made by debootstrap mounts
// no /sys), the first one made mounts a memory controller at /sys/fs/cgroup in a private mount
// namespace of this process's own, which the processes it starts then share.
// A process moves in by writing its pid to path() + "/cgroup.procs".

#include <cstddef>
#include <string>

#include "preconditions.hpp"

namespace tunnel::test {

class memory_cgroup {
public:
    // Whether one can be made here: a precondition, with the reason when not.
    static precondition_result available(boost::unit_test::test_unit_id);

    // Throws with the reason when it cannot be made.
    explicit memory_cgroup(std::size_t limit_bytes);
    ~memory_cgroup();
    memory_cgroup(memory_cgroup const&) = delete;
    memory_cgroup& operator=(memory_cgroup const&) = delete;

    std::string const& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace tunnel::test
