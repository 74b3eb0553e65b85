#include "crawler/ipc.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace crawler {

using common::ErrorCode;
using common::make_error;
using common::Result;
using common::UniqueFd;

namespace {

Result<sockaddr_un> abstract_address(const std::string& name, socklen_t& length) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof(address.sun_path)) {
    return make_error(ErrorCode::Io, "socket name too long: " + name);
  }
  address.sun_path[0] = '\0';  // abstract namespace
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return address;
}

}  // namespace

Result<std::pair<UniqueFd, UniqueFd>> make_packet_pair(int buffer_bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return make_error(ErrorCode::Io, std::string("socketpair: ") + std::strerror(errno));
  }
  UniqueFd a(fds[0]), b(fds[1]);
  if (buffer_bytes > 0) {
    for (int fd : fds) {
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    }
  }
  return std::make_pair(std::move(a), std::move(b));
}

IoStatus send_packet(int fd, std::string_view message, Blocking blocking) {
  const int flags = MSG_NOSIGNAL | (blocking == Blocking::No ? MSG_DONTWAIT : 0);
  for (;;) {
    ssize_t n = ::send(fd, message.data(), message.size(), flags);
    if (n >= 0) return IoStatus::Ok;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::WouldBlock;
    if (errno == EPIPE || errno == ECONNRESET) return IoStatus::Closed;
    return IoStatus::Error;
  }
}

IoStatus recv_packet(int fd, std::string& message, Blocking blocking) {
  // Received into a buffer of the thread's, then copied: resizing `message` to the largest
  // size first would zero 64 KiB on every call, mostly for messages of a few dozen bytes or
  // for none at all (WouldBlock).
  thread_local const std::unique_ptr<char[]> buffer(new char[kMaxPacketBytes]);
  const int flags = MSG_TRUNC | (blocking == Blocking::No ? MSG_DONTWAIT : 0);
  for (;;) {
    ssize_t n = ::recv(fd, buffer.get(), kMaxPacketBytes, flags);
    if (n > 0) {
      if (static_cast<std::size_t>(n) > kMaxPacketBytes) return IoStatus::Error;
      message.assign(buffer.get(), static_cast<std::size_t>(n));
      return IoStatus::Ok;
    }
    if (n == 0) return IoStatus::Closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::WouldBlock;
    if (errno == ECONNRESET) return IoStatus::Closed;
    return IoStatus::Error;
  }
}

Result<UniqueFd> listen_abstract(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::Io, std::string("socket: ") + std::strerror(errno));
  socklen_t length = 0;
  auto address = abstract_address(name, length);
  if (!address) return common::error_of(address);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), length) != 0 ||
      ::listen(fd.get(), 256) != 0) {
    return make_error(ErrorCode::Io, "listen on @" + name + ": " + std::strerror(errno));
  }
  return fd;
}

Result<UniqueFd> connect_abstract(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(ErrorCode::Io, std::string("socket: ") + std::strerror(errno));
  socklen_t length = 0;
  auto address = abstract_address(name, length);
  if (!address) return common::error_of(address);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), length) != 0) {
    return make_error(ErrorCode::Io, "connect to @" + name + ": " + std::strerror(errno));
  }
  return fd;
}

bool FrameWriter::add(std::string_view payload) { return add(std::string(payload)); }

bool FrameWriter::add(std::string&& payload) { return add(std::move(payload), std::string()); }

bool FrameWriter::add(std::string&& head, std::string&& tail) {
  if (head.size() > kMaxFrameBytes || tail.size() > kMaxFrameBytes - head.size()) return false;
  Frame frame;
  const auto length = static_cast<std::uint32_t>(head.size() + tail.size());
  std::memcpy(frame.header, &length, sizeof length);
  frame.payload = std::move(head);
  frame.tail = std::move(tail);
  pending_bytes_ += sizeof frame.header + length;
  frames_.push_back(std::move(frame));
  return true;
}

IoStatus FrameWriter::flush(int fd) {
  constexpr std::size_t kMaxFramesPerCall = 32;
  while (!frames_.empty()) {
    iovec iov[3 * kMaxFramesPerCall];
    std::size_t count = 0;
    std::size_t skip = written_;
    for (std::size_t i = 0; i < frames_.size() && i < kMaxFramesPerCall; ++i) {
      Frame& frame = frames_[i];
      const iovec parts[3] = {{frame.header, sizeof frame.header},
                              {frame.payload.data(), frame.payload.size()},
                              {frame.tail.data(), frame.tail.size()}};
      for (const iovec& part : parts) {
        if (skip >= part.iov_len) {  // written already (only in the front frame), or empty
          skip -= part.iov_len;
          continue;
        }
        iov[count].iov_base = static_cast<char*>(part.iov_base) + skip;
        iov[count].iov_len = part.iov_len - skip;
        skip = 0;
        ++count;
      }
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::WouldBlock;
      return errno == EPIPE || errno == ECONNRESET ? IoStatus::Closed : IoStatus::Error;
    }
    auto sent = static_cast<std::size_t>(n);
    pending_bytes_ -= sent;
    while (sent > 0) {  // drop the frames now fully written
      const Frame& front = frames_.front();
      const std::size_t front_left =
          sizeof(Frame::header) + front.payload.size() + front.tail.size() - written_;
      if (sent < front_left) {
        written_ += sent;
        break;
      }
      sent -= front_left;
      written_ = 0;
      frames_.pop_front();
    }
  }
  return IoStatus::Ok;
}

void FrameWriter::clear() {
  frames_.clear();
  written_ = 0;
  pending_bytes_ = 0;
}

namespace {
constexpr std::size_t kMinReadRoom = 64 * 1024;
// An idle reader gives back a buffer that a large frame grew past this.
constexpr std::size_t kIdleBufferBytes = 4u * 1024 * 1024;
}  // namespace

bool FrameReader::holds_frame() const {
  if (end_ - start_ < 4) return false;
  std::uint32_t length = 0;
  std::memcpy(&length, buffer_.get() + start_, sizeof length);
  return length > kMaxFrameBytes || end_ - start_ - 4 >= length;
}

bool FrameReader::make_room() {
  if (capacity_ - end_ >= kMinReadRoom) return true;
  if (start_ > 0) {  // move the unread bytes to the front: at most one copy of each byte
    std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
    if (capacity_ - end_ >= kMinReadRoom) return true;
  }
  if (holds_frame()) return false;  // take it first; the rest can wait in the socket
  const std::size_t grown = std::max(capacity_ * 2, end_ + kMinReadRoom);
  std::unique_ptr<char[]> bigger(new char[grown]);  // uninitialized: reads fill it
  if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
  buffer_ = std::move(bigger);
  capacity_ = grown;
  return true;
}

IoStatus FrameReader::fill(int fd) {
  if (corrupt_) return IoStatus::Error;
  if (start_ == end_) {
    start_ = end_ = 0;
    if (capacity_ > kIdleBufferBytes) {
      buffer_.reset();
      capacity_ = 0;
    }
  }
  for (int i = 0; i < 64; ++i) {  // bounded per call so one fetcher can't starve the others
    if (!make_room()) return IoStatus::Ok;
    ssize_t n = ::read(fd, buffer_.get() + end_, capacity_ - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return IoStatus::Closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::Ok;
    return IoStatus::Error;
  }
  return IoStatus::Ok;
}

bool FrameReader::next(std::string_view& frame) {
  if (end_ - start_ < 4) return false;
  std::uint32_t length = 0;
  std::memcpy(&length, buffer_.get() + start_, sizeof length);
  if (length > kMaxFrameBytes) {
    // A corrupt stream: drop it all; the next fill() says so, and the caller drops the peer.
    start_ = end_ = 0;
    corrupt_ = true;
    return false;
  }
  if (end_ - start_ - 4 < length) return false;
  frame = std::string_view(buffer_.get() + start_ + 4, length);
  start_ += 4 + length;
  return true;
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

common::Result<common::UniqueFd> make_wake_fd() {
  common::UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) {
    return common::make_error(common::ErrorCode::Io,
                              std::string("eventfd: ") + std::strerror(errno));
  }
  return fd;
}

void signal_wake_fd(int fd) {
  const std::uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);
}

void clear_wake_fd(int fd) {
  std::uint64_t count = 0;
  (void)!::read(fd, &count, sizeof count);
}

std::int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

double unix_time_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace crawler
