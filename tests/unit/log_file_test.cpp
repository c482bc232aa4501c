// The log file, through the logging facade: rotation and numbering (Boost.Log's text_file_backend
// and file collector), and the guards around them: a failed write cut back to whole lines, one
// notice on stderr, a removed directory that does not break the size cap, reopening by name.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "log/logging.hpp"
#include "file_text.hpp"
#include "temp_dir.hpp"

using namespace tunnel;
using tunnel::test::read_all;
namespace fs = std::filesystem;

namespace {


std::map<std::string, std::string> contents(std::string const& dir) {
    std::map<std::string, std::string> out;
    for (auto const& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = read_all(e.path());
    return out;
}

// The messages of a file's lines (the text after the level column), in order.
std::vector<std::string> messages(std::string const& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line.size() > 34 ? line.substr(34) : "<" + line + ">");
    return out;
}

// A line of exactly 80 bytes with its newline: timestamp (27), " INFO  " (7), the message (45), "\n".
std::string message_of(char c) { return std::string(45, c); }
void log_line_of(char c) { log_info(message_of(c)); }

// Collects what is written to stderr (fd 2) while it lives, through a pipe (a file would be
// bound by the file size limit a test sets).
class stderr_capture {
public:
    stderr_capture() {
        BOOST_REQUIRE(::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) == 0);
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(pipe_[1], STDERR_FILENO);
    }
    ~stderr_capture() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        ::close(pipe_[0]);
        ::close(pipe_[1]);
    }
    // What came so far (a few notices: far less than the pipe holds).
    std::string text() {
        char buffer[4096];
        for (ssize_t n; (n = ::read(pipe_[0], buffer, sizeof buffer)) > 0;) text_.append(buffer, static_cast<std::size_t>(n));
        return text_;
    }

private:
    int pipe_[2] = {-1, -1};
    int saved_ = -1;
    std::string text_;
};

std::size_t count_of(std::string const& text, std::string const& word) {
    std::size_t n = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_file)

BOOST_AUTO_TEST_CASE(a_full_file_is_renamed_with_the_next_number_and_lines_stay_whole) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    BOOST_REQUIRE(log_to_file({dir.path() + "/c.log", 200, 10}).empty());
    init_logging(log_level::info, log_format::text);
    for (char c : std::string("abcde")) log_line_of(c);
    flush_log();
    auto const files = contents(dir.path());
    // 80-byte lines, files below 200 bytes: two lines each, never a line cut across two files.
    BOOST_TEST(files.size() == 3u);
    BOOST_TEST(messages(files.at("c.log.0")) == (std::vector{message_of('a'), message_of('b')}));
    BOOST_TEST(messages(files.at("c.log.1")) == (std::vector{message_of('c'), message_of('d')}));
    BOOST_TEST(messages(files.at("c.log")) == (std::vector{message_of('e')}));
}

BOOST_AUTO_TEST_CASE(only_the_newest_max_files_are_kept) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    BOOST_REQUIRE(log_to_file({dir.path() + "/c.log", 100, 3}).empty());
    for (char c : std::string("abcdefghij")) log_line_of(c);
    flush_log();
    auto const files = contents(dir.path());
    BOOST_TEST(files.size() == 3u);  // the current file and two rotated ones
    BOOST_TEST(messages(files.at("c.log")) == (std::vector{message_of('j')}));
    BOOST_TEST(messages(files.at("c.log.8")) == (std::vector{message_of('i')}));
    BOOST_TEST(messages(files.at("c.log.7")) == (std::vector{message_of('h')}));
}

BOOST_AUTO_TEST_CASE(after_a_restart_numbering_goes_on_and_nothing_is_overwritten) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    std::ofstream(dir.path() + "/c.log.7") << "rotated by an earlier run\n";
    std::ofstream(dir.path() + "/c.log.x") << "not ours\n";
    std::ofstream(dir.path() + "/c.log") << "the current file of an earlier run\n";
    BOOST_REQUIRE(log_to_file({dir.path() + "/c.log", 200, 5}).empty());
    log_line_of('n');
    flush_log();
    auto const files = contents(dir.path());
    BOOST_TEST(files.at("c.log.7") == "rotated by an earlier run\n");
    BOOST_TEST(files.at("c.log.8") == "the current file of an earlier run\n");
    BOOST_TEST(files.at("c.log.x") == "not ours\n");
    BOOST_TEST(messages(files.at("c.log")) == (std::vector{message_of('n')}));
    // The next rotation takes the next number.
    log_line_of('o');
    log_line_of('p');
    flush_log();
    BOOST_TEST(messages(read_all(dir.path() + "/c.log.9")) == (std::vector{message_of('n'), message_of('o')}));
}

BOOST_AUTO_TEST_CASE(restarts_keep_no_more_than_max_files) {
    // Each start (and each SIGHUP) rotates the file left at the path: that counts too. (Which old
    // ones go is Boost.Log's collector's choice, by modification time: within one second, any.)
    tunnel::test::temp_dir dir("tunnel-log-file");
    for (char c : std::string("abcdef")) {
        BOOST_REQUIRE(log_to_file({dir.path() + "/c.log", 1024 * 1024, 3}).empty());
        log_line_of(c);
        flush_log();
    }
    auto const files = contents(dir.path());
    BOOST_TEST(files.size() == 3u);  // the current file and two rotated ones, not six
    BOOST_REQUIRE(files.count("c.log") == 1u);
    BOOST_TEST(messages(files.at("c.log")) == (std::vector{message_of('f')}));
}

BOOST_AUTO_TEST_CASE(a_line_longer_than_the_limit_is_written_whole) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    BOOST_REQUIRE(log_to_file({dir.path() + "/c.log", 100, 3}).empty());
    std::string const long_message(300, 'z');
    log_info(long_message);
    log_info("next");
    flush_log();
    auto const files = contents(dir.path());
    BOOST_TEST(messages(files.at("c.log.0")) == (std::vector{long_message}));
    BOOST_TEST(messages(files.at("c.log")) == (std::vector<std::string>{"next"}));
}

BOOST_AUTO_TEST_CASE(a_relative_path_is_kept_absolute_for_later_rotations) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    auto const before = fs::current_path();
    fs::current_path(dir.path());
    auto const error = log_to_file({"c.log", 100, 3});
    fs::current_path(before);
    BOOST_REQUIRE(error.empty());
    log_line_of('a');
    log_line_of('b');
    flush_log();
    auto const files = contents(dir.path());
    BOOST_TEST(messages(files.at("c.log.0")) == (std::vector{message_of('a')}));
    BOOST_TEST(messages(files.at("c.log")) == (std::vector{message_of('b')}));
}

BOOST_AUTO_TEST_CASE(a_file_that_cannot_be_opened_says_why) {
    auto const error = log_to_file({"/nonexistent/dir/c.log", 100, 3});
    BOOST_TEST(error.find("/nonexistent/dir/c.log") != std::string::npos);
    BOOST_TEST(error.find("No such file or directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_write_that_fails_part_way_is_cut_back_said_once_and_resumed) {
    // A file size limit makes the disk "full" for this process: the write that crosses it is
    // short, then every write fails (EFBIG), as on a full file system.
    tunnel::test::temp_dir dir("tunnel-log-file");
    std::string const path = dir.path() + "/c.log";
    BOOST_REQUIRE(log_to_file({path, 1024 * 1024, 3}).empty());
    auto const old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit saved{};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    stderr_capture err;
    {
        rlimit full = saved;
        full.rlim_cur = 200;  // room for two lines and a half
        BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &full) == 0);
    }
    for (char c : std::string("abcdef")) log_line_of(c);
    flush_log();
    auto const while_full = read_all(path);
    BOOST_TEST(messages(while_full) == (std::vector{message_of('a'), message_of('b')}));  // no torn 'c'
    BOOST_TEST(while_full.size() == 160u);
    // Tried again while still full (a reopen, as the retry every few seconds does): no new notice.
    {
        rlimit fuller = saved;
        fuller.rlim_cur = 10;  // not even a new, empty file takes a line now
        BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &fuller) == 0);
    }
    reopen_log_file();
    log_line_of('x');
    flush_log();
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
    std::signal(SIGXFSZ, old_handler);
    // Room again: the next line after a reopen (SIGHUP; or by itself after a few seconds) goes in,
    // after a line that says how many were lost.
    reopen_log_file();
    log_line_of('g');
    flush_log();
    auto const notice = err.text();
    BOOST_TEST(count_of(notice, "cannot be written") == 1u, notice);
    BOOST_TEST(count_of(notice, "log lines are dropped until") == 1u, notice);  // said once, not per try
    BOOST_TEST(count_of(notice, "is written again (5 lines were dropped)") == 1u, notice);
    // The file goes on where its whole lines ended: a, b, then the notice, then g.
    auto const after = read_all(path);
    BOOST_TEST(after.rfind(while_full, 0) == 0u, after);
    BOOST_TEST(after.find("WARN  log lines dropped: the log file could not be written dropped=5\n") ==
                   while_full.size() + 28,
               after);
    BOOST_TEST(messages(after).back() == message_of('g'));
    BOOST_TEST(messages(after).size() == 4u);
    BOOST_TEST(!fs::exists(path + ".0"));
    BOOST_TEST(log_lines_dropped() >= 5u);
}

BOOST_AUTO_TEST_CASE(a_removed_directory_does_not_break_the_size_cap) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    std::string const logs = dir.path() + "/logs";
    fs::create_directory(logs);
    std::string const path = logs + "/c.log";
    BOOST_REQUIRE(log_to_file({path, 1000, 3}).empty());
    log_line_of('a');
    flush_log();
    fs::remove_all(logs);
    // 4 KiB of lines: the file being written is gone, and must be let go at the size cap, not
    // grown without end where nothing can see it.
    for (int i = 0; i < 50; ++i) log_line_of('b');
    flush_log();
    std::uintmax_t deleted_bytes = 0;
    for (auto const& fd : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto const target = fs::read_symlink(fd.path(), ec).string();
        if (!ec && target.rfind(logs, 0) == 0 && target.ends_with("(deleted)"))
            deleted_bytes += fs::file_size(fd.path(), ec);
    }
    BOOST_TEST(deleted_bytes < 1000u);
    // Writing went on in the directory made again, under the cap.
    BOOST_REQUIRE(fs::exists(path));
    BOOST_TEST(fs::file_size(path) < 1000u);
    BOOST_TEST(messages(read_all(path)).back() == message_of('b'));
}

BOOST_AUTO_TEST_CASE(reopen_opens_the_file_again_by_its_name) {
    tunnel::test::temp_dir dir("tunnel-log-file");
    std::string const path = dir.path() + "/c.log";
    BOOST_REQUIRE(log_to_file({path, 1024 * 1024, 3}).empty());
    log_line_of('a');
    flush_log();
    fs::rename(path, path + ".moved");  // as logrotate does, before it sends SIGHUP
    log_line_of('b');                   // still into the moved file
    flush_log();
    reopen_log_file();
    log_line_of('c');
    flush_log();
    BOOST_TEST(messages(read_all(path + ".moved")) == (std::vector{message_of('a'), message_of('b')}));
    BOOST_TEST(messages(read_all(path)) == (std::vector{message_of('c')}));
}

BOOST_AUTO_TEST_SUITE_END()
