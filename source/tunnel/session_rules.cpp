#include "tunnel/session_rules.hpp"

namespace tunnel {

using protocol::msg_type;

frame_action decide(protocol::header const& h, bool id_in_use, bool stopping) {
    switch (h.kind()) {
        case msg_type::connect:
            if (stopping) return frame_action::ignore_stopping;
            if (!protocol::is_known_proto(h.proto)) return frame_action::refuse_proto;
            return id_in_use ? frame_action::replace : frame_action::open;
        case msg_type::data:
            if (stopping) return frame_action::ignore_stopping;
            return id_in_use ? frame_action::deliver : frame_action::ignore_unknown_id;
        case msg_type::close:
            if (stopping) return frame_action::ignore_stopping;
            return id_in_use ? frame_action::close : frame_action::ignore_unknown_id;
        case msg_type::ping:
            if (stopping) return frame_action::ignore_stopping;
            return frame_action::pong;
        case msg_type::connected:
        case msg_type::error:
        case msg_type::pong:
            return frame_action::ignore_client_side;
    }
    return frame_action::ignore_unknown_type;
}

}  // namespace tunnel
