#include "log/rotating_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace tunnel {

namespace {

int open_append(std::string const& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// The numbers N of the rotated files PATH.N beside path, lowest first.
std::vector<std::uint64_t> rotated_numbers(std::string const& path) {
    auto const slash = path.rfind('/');
    std::string const dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string const prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".";
    std::vector<std::uint64_t> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto const* e = ::readdir(d)) {
        std::string_view const name(e->d_name);
        if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) continue;
        auto const digits = name.substr(prefix.size());
        std::uint64_t n = 0;
        auto const [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec == std::errc{} && end == digits.data() + digits.size()) out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

bool write_whole(int fd, std::string_view text) {
    std::size_t done = 0;
    while (done < text.size()) {
        auto const n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::variant<std::unique_ptr<rotating_file>, std::string> rotating_file::open(
    log_file_options const& options) {
    auto absolute = options;  // the name stays right for reopening and rotating wherever the cwd goes
    if (absolute.path.empty() || absolute.path.front() != '/') {
        std::vector<char> cwd(4096);
        if (::getcwd(cwd.data(), cwd.size())) absolute.path = std::string(cwd.data()) + "/" + absolute.path;
    }
    int const fd = open_append(absolute.path);
    if (fd < 0)
        return "--log-file " + options.path + ": cannot open it for writing (" + std::strerror(errno) + ")";
    struct stat st {};
    std::uintmax_t const size = ::fstat(fd, &st) == 0 ? static_cast<std::uintmax_t>(st.st_size) : 0;
    return std::unique_ptr<rotating_file>(new rotating_file(std::move(absolute), fd, size));
}

rotating_file::rotating_file(log_file_options options, int fd, std::uintmax_t size)
    : options_(std::move(options)), fd_(fd), size_(size) {}

rotating_file::~rotating_file() { ::close(fd_); }

namespace {
// The length of the whole lines at the front of text that fit in room bytes.
std::size_t whole_lines_within(std::string_view text, std::uintmax_t room) {
    if (text.size() <= room) return text.size();
    if (room == 0) return 0;
    auto const last_end = text.rfind('\n', static_cast<std::size_t>(room - 1));
    return last_end == std::string_view::npos ? 0 : last_end + 1;
}
}  // namespace

void rotating_file::write(std::string_view lines) {
    while (!lines.empty()) {
        auto const room = [&] { return size_ < options_.max_size ? options_.max_size - size_ : 0; };
        std::size_t take = whole_lines_within(lines, room());
        if (take == 0) {
            if (size_ > 0) rotate();
            take = whole_lines_within(lines, room());
            // A line longer than the limit goes whole into an empty file (or one that could not be
            // rotated away).
            if (take == 0) {
                auto const end = lines.find('\n');
                take = end == std::string_view::npos ? lines.size() : end + 1;
            }
        }
        if (write_whole(fd_, lines.substr(0, take)))
            size_ += take;  // (lines lost to a full disk are not counted)
        lines.remove_prefix(take);
    }
}

// Renames the current file to PATH.N, drops the oldest rotated files beyond max_files - 1 and
// starts an empty current file. If the rename fails (the directory turned read-only), the lines
// keep going to the current file and the next line tries again.
void rotating_file::rotate() {
    auto numbers = rotated_numbers(options_.path);
    auto const next = numbers.empty() ? 1 : numbers.back() + 1;
    std::string const target = options_.path + "." + std::to_string(next);
    if (::rename(options_.path.c_str(), target.c_str()) != 0) return;
    numbers.push_back(next);
    std::size_t const keep = options_.max_files > 0 ? options_.max_files - 1 : 0;
    for (std::size_t i = 0; i + keep < numbers.size(); ++i)
        ::unlink((options_.path + "." + std::to_string(numbers[i])).c_str());
    int const fd = open_append(options_.path);
    if (fd < 0) return;  // keep writing to the renamed file rather than nowhere
    ::close(fd_);
    fd_ = fd;
    size_ = 0;
}

}  // namespace tunnel
