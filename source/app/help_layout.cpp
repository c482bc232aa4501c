#include "app/help_layout.hpp"

#include <sstream>

namespace tunnel::app {

namespace {
// "  -c [ --container-id ] ID   text" -> "  -c, --container-id ID      text": the text keeps the
// column the library gave it.
std::string joined_names(std::string const& line, std::size_t column) {
    if (line.size() < 9 || line.compare(0, 3, "  -") != 0 || line.compare(4, 5, " [ --") != 0) return line;
    // (When the names fill the column, the library puts the text on the next line.)
    bool const text_follows = line.size() > column && line[column - 1] == ' ';
    auto const names = text_follows ? line.substr(0, column) : line;
    auto const close = names.find(" ]", 9);
    if (close == std::string::npos) return line;
    auto joined = names.substr(0, 4) + ", " + names.substr(7, close - 7) + names.substr(close + 2);
    if (!text_follows) return joined;
    joined.resize(column, ' ');
    return joined + line.substr(column);
}
}  // namespace

std::string help_layout(boost::program_options::options_description const& options) {
    std::ostringstream printed;
    printed << options;
    std::istringstream lines(printed.str());
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        line.erase(line.find_last_not_of(' ') + 1);  // (the library leaves a space where it wraps)
        out += joined_names(line, options.get_option_column_width()) + '\n';
    }
    return out;
}

}  // namespace tunnel::app
