// Beast is compiled once here instead of in every translation unit (BOOST_BEAST_SEPARATE_COMPILATION).
// With the direct writer (Boost 1.81), its byte-at-a-time WebSocket masking is left out:
// websocket_mask.cpp defines a faster one.
#if TUNNEL_DIRECT_WS_WRITE
#define BOOST_BEAST_WEBSOCKET_DETAIL_MASK_IPP
#endif
#include <boost/beast/src.hpp>
