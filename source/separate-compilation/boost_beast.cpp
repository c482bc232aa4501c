// Beast is compiled once here instead of in every translation unit (BOOST_BEAST_SEPARATE_COMPILATION).
// Its byte-at-a-time WebSocket masking is left out: websocket_mask.cpp defines a faster one.
#define BOOST_BEAST_WEBSOCKET_DETAIL_MASK_IPP
#include <boost/beast/src.hpp>
