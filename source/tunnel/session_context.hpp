#pragma once
// What a session shares with its links: the config, the two byte accounts, the WebSocket writer
// and the client_id table. The writer and the table live on the session's strand; links run on
// their own strands and reach them only through the posting members below.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <atomic>
#include <memory>

#include "protocol/frame.hpp"
#include "transport/frame_writer.hpp"
#include "transport/wake_signal.hpp"
#include "tunnel/byte_account.hpp"
#include "tunnel/config.hpp"
#include "tunnel/session_rules.hpp"
#include "tunnel/status_board.hpp"

namespace tunnel {

class link;

// Room the runner's CONNECT reserves in the upstream budget until the link has answered it
// (CONNECTED or ERROR): a CONNECT flood from a runner that does not read pauses the read loop
// instead of opening connections without bound.
inline constexpr std::size_t reply_reserve = 4096;

class session_context : public std::enable_shared_from_this<session_context> {
public:
    // strand: the session's (the read loop, the writer, the table); io: where links make theirs.
    session_context(boost::asio::any_io_executor io, boost::asio::any_io_executor strand,
                    client_config const& config, std::shared_ptr<status_board> board);

    client_config const config;  // a copy: a link may outlive the client object
    bool const single_thread;    // one thread: no strands, and events run inline
    boost::asio::any_io_executor const strand;
    std::shared_ptr<status_board> const board;  // what `status` shows

    // Bytes from the runner waiting for local sockets (--session-buffer).
    byte_account downstream;
    // Bytes waiting for the WebSocket: queued frames and owed replies (--write-queue).
    byte_account upstream;
    // Links alive (opening, open or flushing): each counts itself from construction to
    // destruction, on whichever thread that ends.
    std::atomic<std::size_t> links{0};

    // ---- on the session's strand ----
    transport::frame_writer writer;
    id_table<std::shared_ptr<link>> ids;
    transport::wake_signal read_gate;  // bytes were released (the paused read loop looks again)
    void queue(transport::frame_bytes frame, std::uint64_t owner = 0);

    // ---- from any strand ----
    // The executor a new link runs on: its own strand when there are several threads.
    boost::asio::any_io_executor make_link_executor();
    // Queues a link's frame; it goes out only while that link still owns its client_id (a
    // replaced or closed stream never reaches whoever took the id next). `last`: release the id.
    void send_from(std::shared_ptr<link> const& from, transport::frame_bytes frame, bool last);
    void release(std::shared_ptr<link> const& from);
    // The read loop (or anyone on the strand) is woken at the next release of downstream bytes.
    void wake_reader_on_release(byte_account& account);

    std::uint64_t next_serial();

private:
    boost::asio::any_io_executor io_;
};

}  // namespace tunnel
