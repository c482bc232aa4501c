#pragma once
// A private directory under /tmp for one test, removed with all it holds when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace tunnel::test {

class temp_dir {
public:
    explicit temp_dir(std::string const& prefix = "tunnel-test") : path_("/tmp/" + prefix + "-XXXXXX") {
        if (!::mkdtemp(path_.data())) throw std::runtime_error("mkdtemp " + path_ + " failed");
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    std::string const& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace tunnel::test
