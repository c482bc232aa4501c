// Beast is compiled once here instead of in every translation unit (BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/beast/src.hpp>
