// The log file's rotation, on a private directory: numbering, how many files stay, sizes.

#include "log/rotating_file.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "temp_dir.hpp"

using namespace tunnel;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> contents(std::string const& dir) {
    std::map<std::string, std::string> out;
    for (auto const& e : fs::directory_iterator(dir)) {
        std::ifstream in(e.path());
        std::ostringstream all;
        all << in.rdbuf();
        out[e.path().filename().string()] = all.str();
    }
    return out;
}

std::unique_ptr<rotating_file> open_file(log_file_options const& o) {
    auto opened = rotating_file::open(o);
    BOOST_REQUIRE(std::holds_alternative<std::unique_ptr<rotating_file>>(opened));
    return std::get<0>(std::move(opened));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_rotation)

BOOST_AUTO_TEST_CASE(a_full_file_is_renamed_with_the_next_number_and_lines_stay_whole) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    auto f = open_file({dir.path() + "/c.log", 100, 10});
    for (char c : std::string("abcde")) f->write(std::string(39, c) + "\n");
    auto const files = contents(dir.path());
    // 40-byte lines, 100 bytes a file: two lines each, never a line cut across two files.
    BOOST_TEST(files.size() == 3u);
    BOOST_TEST(files.at("c.log.1") == std::string(39, 'a') + "\n" + std::string(39, 'b') + "\n");
    BOOST_TEST(files.at("c.log.2") == std::string(39, 'c') + "\n" + std::string(39, 'd') + "\n");
    BOOST_TEST(files.at("c.log") == std::string(39, 'e') + "\n");
}

BOOST_AUTO_TEST_CASE(lines_written_together_are_split_between_files_at_a_line_end) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    auto f = open_file({dir.path() + "/c.log", 100, 10});
    std::string batch;
    for (char c : std::string("abcde")) batch += std::string(39, c) + "\n";
    f->write(batch);  // five lines in one piece: the same files as five writes
    auto const files = contents(dir.path());
    BOOST_TEST(files.size() == 3u);
    BOOST_TEST(files.at("c.log.1") == std::string(39, 'a') + "\n" + std::string(39, 'b') + "\n");
    BOOST_TEST(files.at("c.log.2") == std::string(39, 'c') + "\n" + std::string(39, 'd') + "\n");
    BOOST_TEST(files.at("c.log") == std::string(39, 'e') + "\n");
}

BOOST_AUTO_TEST_CASE(only_the_newest_max_files_are_kept) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    auto f = open_file({dir.path() + "/c.log", 10, 3});
    for (int i = 0; i < 20; ++i) f->write("line " + std::to_string(i) + "\n");
    auto const files = contents(dir.path());
    BOOST_TEST(files.size() == 3u);
    BOOST_TEST(files.at("c.log") == "line 19\n");
    BOOST_TEST(files.at("c.log.19") == "line 18\n");
    BOOST_TEST(files.at("c.log.18") == "line 17\n");
}

BOOST_AUTO_TEST_CASE(numbering_goes_on_from_the_files_already_there) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    std::ofstream(dir.path() + "/c.log.7") << "old\n";
    std::ofstream(dir.path() + "/c.log.x") << "not ours\n";
    std::ofstream(dir.path() + "/c.log") << "0123456789\n";  // the current file of an earlier run
    auto f = open_file({dir.path() + "/c.log", 16, 5});
    f->write("new line\n");  // 11 + 9 > 16: the earlier run's file is rotated first
    auto const files = contents(dir.path());
    BOOST_TEST(files.at("c.log.8") == "0123456789\n");
    BOOST_TEST(files.at("c.log.7") == "old\n");
    BOOST_TEST(files.at("c.log.x") == "not ours\n");
    BOOST_TEST(files.at("c.log") == "new line\n");
}

BOOST_AUTO_TEST_CASE(a_line_longer_than_the_limit_is_written_whole) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    auto f = open_file({dir.path() + "/c.log", 16, 3});
    std::string const long_line(100, 'z');
    f->write(long_line + "\n");
    f->write("next\n");
    auto const files = contents(dir.path());
    BOOST_TEST(files.at("c.log.1") == long_line + "\n");
    BOOST_TEST(files.at("c.log") == "next\n");
}

BOOST_AUTO_TEST_CASE(a_relative_path_is_kept_absolute_for_later_rotations) {
    tunnel::test::temp_dir dir("tunnel-rotating-file");
    auto const before = fs::current_path();
    fs::current_path(dir.path());
    auto f = open_file({"c.log", 8, 3});
    fs::current_path(before);
    f->write("first line\n");
    f->write("second line\n");
    auto const files = contents(dir.path());
    BOOST_TEST(files.at("c.log.1") == "first line\n");
    BOOST_TEST(files.at("c.log") == "second line\n");
}

BOOST_AUTO_TEST_CASE(a_file_that_cannot_be_opened_says_why) {
    auto opened = rotating_file::open({"/nonexistent/dir/c.log", 100, 3});
    auto const* error = std::get_if<std::string>(&opened);
    BOOST_REQUIRE(error);
    BOOST_TEST(error->find("/nonexistent/dir/c.log") != std::string::npos);
    BOOST_TEST(error->find("No such file or directory") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
