#pragma once
// The OS channels between our processes: datagram-like SOCK_SEQPACKET socket pairs for small
// messages (task queue, events, control), and length-prefixed frames over a SOCK_STREAM Unix
// socket for fetch results, which can be megabytes.
//
// A SOCK_SEQPACKET end may be shared by several processes: each message is delivered whole
// to exactly one reader, which is what makes the task queue "one shared queue" that any idle
// fetcher reads from. Its capacity is the socket buffer, so a full queue makes the sender
// wait (or see WouldBlock) instead of growing memory.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "common/unique_fd.h"

namespace crawler {

// Largest message accepted on a SOCK_SEQPACKET channel.
inline constexpr std::size_t kMaxPacketBytes = 64 * 1024;
// Largest result frame: the body cap plus room for the other fields. Enforced by readers.
inline constexpr std::uint32_t kMaxFrameBytes = 256u * 1024 * 1024;

enum class Blocking { No, Yes };
enum class IoStatus { Ok, WouldBlock, Closed, Error };

// Both ends are close-on-exec; the spawner decides what a child inherits.
[[nodiscard]] common::Result<std::pair<common::UniqueFd, common::UniqueFd>> make_packet_pair(
    int buffer_bytes);

IoStatus send_packet(int fd, std::string_view message, Blocking blocking);
// On Ok, `message` holds one whole message. A message larger than kMaxPacketBytes is an Error.
IoStatus recv_packet(int fd, std::string& message, Blocking blocking);

// A listening SOCK_STREAM socket in Linux's abstract namespace (no file to clean up).
[[nodiscard]] common::Result<common::UniqueFd> listen_abstract(const std::string& name);
[[nodiscard]] common::Result<common::UniqueFd> connect_abstract(const std::string& name);

// Frames waiting for a non-blocking stream: add() queues, flush() writes what the socket
// takes now. For writers that must never block on their reader: the fetchers (a busy parser
// must not stall their transfers) and the coordinator (the parser may itself be waiting for
// the coordinator to read its events).
class FrameWriter {
 public:
  // False (nothing queued) if the payload is over kMaxFrameBytes.
  bool add(std::string_view payload);
  bool add(std::string&& payload);
  // One frame whose payload is `head` then `tail`, sent without joining them: a result's
  // fields and its body, which is not copied again.
  bool add(std::string&& head, std::string&& tail);
  // Ok: everything written; WouldBlock: some left (poll for POLLOUT); Closed or Error.
  IoStatus flush(int fd);
  bool pending() const { return pending_bytes_ > 0; }
  std::size_t pending_bytes() const { return pending_bytes_; }
  void clear();

 private:
  // One queued frame: its length prefix and payload, written with one sendmsg (no copy into
  // a contiguous buffer, nothing moved as the front is written).
  struct Frame {
    char header[4];
    std::string payload;
    std::string tail;  // the rest of the payload, often empty
  };
  std::deque<Frame> frames_;
  std::size_t written_ = 0;  // bytes of frames_.front() (header + payload) already sent
  std::size_t pending_bytes_ = 0;
};

// Accumulates bytes from a non-blocking stream and splits them into frames.
// Bytes are read straight into one buffer and frames are handed out as views of it, so a
// result's body is copied once after the read (into the FetchResult that decode() fills),
// not three times (a read chunk, the buffer, a frame string). The buffer grows to the
// largest frame and is given back when it is empty and over 4 MiB.
class FrameReader {
 public:
  // Reads what is available, but grows its buffer only to complete a frame: once the buffer
  // holds a complete frame and is full, the rest stays in the socket until the next call (a
  // level-triggered poll still reports it). So the buffer is about the largest frame, not
  // all the socket holds. Closed at EOF; Error on a read error. Invalidates the frames
  // next() returned before.
  IoStatus fill(int fd);
  // Takes the next complete frame, if any: a view into the buffer, valid until fill().
  // An oversized length prefix (a corrupt stream) drops everything read, and every later
  // fill() reports Error: the caller closes the connection (its writer then sees it closed)
  // rather than read on from the middle of a frame.
  bool next(std::string_view& frame);
  // A corrupt length prefix was seen: drop the connection.
  bool corrupt() const { return corrupt_; }
  // The buffer's size in bytes (for tests of its bound).
  std::size_t buffer_bytes() const { return capacity_; }

 private:
  // Whether buffer_[start_, end_) begins with a complete frame (or a corrupt length, which
  // next() handles).
  bool holds_frame() const;
  // Room for the next read at the end of the buffer: compacts, or grows it unless it holds a
  // complete frame. False: no room without growing.
  bool make_room();

  // Not std::vector<char>: growing that zeroes the new bytes, a page fault and a memset for
  // every page that the read then overwrites.
  std::unique_ptr<char[]> buffer_;  // buffer_[start_, end_) is read and not yet taken
  std::size_t capacity_ = 0;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  bool corrupt_ = false;
};

void set_nonblocking(int fd);

// A wake-up fd, so that one thread can end another's epoll_wait: a non-blocking eventfd.
// signal_wake_fd makes it readable; clear_wake_fd makes it unreadable again.
[[nodiscard]] common::Result<common::UniqueFd> make_wake_fd();
void signal_wake_fd(int fd);
void clear_wake_fd(int fd);

std::int64_t monotonic_ms();
double unix_time_s();

}  // namespace crawler
