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
  std::string_view frame;
  for (int round = 0; round < 100000 && received.size() < kFrames; ++round) {
    const IoStatus w = out.flush(pair.writer.get());
    REQUIRE((w == IoStatus::Ok || w == IoStatus::WouldBlock));
    REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
    while (in.next(frame)) received.emplace_back(frame);
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

TEST_CASE("ipc: a FrameReader splits a byte stream into frames however the bytes arrive",
          "[crawler][ipc]") {
  auto frame_bytes = [](const std::string& payload) {
    const auto length = static_cast<std::uint32_t>(payload.size());
    std::string out(reinterpret_cast<const char*>(&length), sizeof length);
    return out + payload;
  };
  const std::string big(70 * 1024, 'b');  // past the reader's first buffer (64 KiB)
  const std::string stream = frame_bytes("one") + frame_bytes("") + frame_bytes(big) +
                             frame_bytes("two");
  struct Case {
    const char* name;
    std::size_t chunk;  // the stream is written in chunks of this size
  };
  const Case cases[] = {{"all at once", stream.size()}, {"byte by byte", 1},
                        {"7 bytes at a time", 7}, {"in 50 KiB chunks", 50 * 1024}};
  for (const auto& c : cases) {
    INFO(c.name);
    auto pair = stream_pair();
    FrameReader in;
    std::vector<std::string> got;
    std::string_view frame;
    for (std::size_t at = 0; at < stream.size(); at += c.chunk) {
      const std::size_t n = std::min(c.chunk, stream.size() - at);
      REQUIRE(::write(pair.writer.get(), stream.data() + at, n) == static_cast<ssize_t>(n));
      REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
      // Several views taken before the next fill() all stay valid.
      std::vector<std::string_view> views;
      while (in.next(frame)) views.push_back(frame);
      for (auto v : views) got.emplace_back(v);
    }
    REQUIRE(got.size() == 4);
    CHECK(got[0] == "one");
    CHECK(got[1].empty());
    CHECK(got[2] == big);
    CHECK(got[3] == "two");
    pair.writer.reset();
    CHECK(in.fill(pair.reader.get()) == IoStatus::Closed);
  }
}

TEST_CASE("ipc: a FrameReader drops a stream whose length prefix is over kMaxFrameBytes",
          "[crawler][ipc]") {
  auto pair = stream_pair();
  const std::uint32_t bad = kMaxFrameBytes + 1;
  std::string bytes(reinterpret_cast<const char*>(&bad), sizeof bad);
  bytes += "garbage";
  REQUIRE(::write(pair.writer.get(), bytes.data(), bytes.size()) ==
          static_cast<ssize_t>(bytes.size()));
  FrameReader in;
  REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
  std::string_view frame;
  CHECK_FALSE(in.next(frame));
  CHECK_FALSE(in.next(frame));  // nothing left to misread as a frame
}

}  // namespace crawler
