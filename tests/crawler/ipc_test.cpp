// FrameWriter and FrameReader: the non-blocking result stream between fetchers and the parser.

#include "crawler/ipc.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace crawler {
namespace {

struct StreamPair {
  common::UniqueFd writer, reader;
};

StreamPair stream_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  StreamPair pair{common::UniqueFd(fds[0]), common::UniqueFd(fds[1])};
  set_nonblocking(pair.reader.get());
  return pair;
}

// Frame i: a distinct size and contents, so a lost, torn or reordered frame shows.
std::string payload(int i) {
  std::string p(static_cast<std::size_t>(1000 + i * 7919 % 300000), '\0');
  for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>('a' + (k + static_cast<std::size_t>(i)) % 26);
  return p;
}

}  // namespace

TEST_CASE("ipc: a FrameWriter never blocks, counts what waits, and delivers every frame in order",
          "[crawler][ipc]") {
  auto pair = stream_pair();
  FrameWriter out;
  constexpr int kFrames = 200;  // about 30 MB: far more than a socket buffer holds
  std::size_t queued = 0;
  for (int i = 0; i < kFrames; ++i) {
    const std::string p = payload(i);
    REQUIRE(out.add(p));
    queued += 4 + p.size();
  }
  REQUIRE(out.pending_bytes() == queued);

  // Nobody reads yet: the first flush writes what the socket takes and returns at once.
  REQUIRE(out.flush(pair.writer.get()) == IoStatus::WouldBlock);
  REQUIRE(out.pending());
  REQUIRE(out.pending_bytes() > 0);
  REQUIRE(out.pending_bytes() < queued);

  FrameReader in;
  std::vector<std::string> received;
  std::string frame;
  for (int round = 0; round < 100000 && received.size() < kFrames; ++round) {
    const IoStatus w = out.flush(pair.writer.get());
    REQUIRE((w == IoStatus::Ok || w == IoStatus::WouldBlock));
    REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
    while (in.next(frame)) received.push_back(frame);
  }
  REQUIRE(received.size() == kFrames);
  for (int i = 0; i < kFrames; ++i) REQUIRE(received[static_cast<std::size_t>(i)] == payload(i));
  REQUIRE_FALSE(out.pending());
  REQUIRE(out.pending_bytes() == 0);
}

TEST_CASE("ipc: a FrameWriter refuses an oversized frame and reports a closed reader",
          "[crawler][ipc]") {
  auto pair = stream_pair();
  FrameWriter out;
  const std::string huge(static_cast<std::size_t>(kMaxFrameBytes) + 1, 'x');
  REQUIRE_FALSE(out.add(huge));
  REQUIRE(out.pending_bytes() == 0);

  REQUIRE(out.add(std::string("hello")));
  pair.reader.reset();
  REQUIRE(out.flush(pair.writer.get()) == IoStatus::Closed);
}

}  // namespace crawler
