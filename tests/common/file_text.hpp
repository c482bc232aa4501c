#pragma once
// The whole of a text file, for tests that read what the code under test wrote; empty when it
// cannot be read.

#include <fstream>
#include <sstream>
#include <string>

namespace tunnel::test {

inline std::string read_all(std::string const& path) {
    std::ifstream in(path);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

}  // namespace tunnel::test
