#pragma once
// Option lists for --help, laid out by Program_options, with the one change help2man needs to
// make a manual page of them: "-c, --container-id ID" where the library writes
// "-c [ --container-id ] ID".

#include <boost/program_options/options_description.hpp>
#include <string>

namespace tunnel::app {

std::string help_layout(boost::program_options::options_description const& options);

}  // namespace tunnel::app
