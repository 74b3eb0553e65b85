// FrameWriter and FrameReader: the non-blocking result stream between fetchers and the parser.

#include "crawler/ipc.h"

#include <sys/socket.h>

#include <unistd.h>

#include <algorithm>
#include <random>
#include <catch2/catch.hpp>
#include <cstring>
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
      // As the parser does on each poll: fill and take, until a fill brings no frame (a
      // full buffer leaves the rest in the socket).
      for (int round = 0; round < 100; ++round) {
        REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
        // Several views taken before the next fill() all stay valid.
        std::vector<std::string_view> views;
        while (in.next(frame)) views.push_back(frame);
        for (auto v : views) got.emplace_back(v);
        if (views.empty()) break;
      }
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

TEST_CASE("ipc: a FrameReader's buffer grows to the largest frame, not to what the socket holds",
          "[crawler][ipc]") {
  auto pair = stream_pair();
  int size = 4 * 1024 * 1024;
  REQUIRE(::setsockopt(pair.writer.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
  FrameWriter out;
  // 2 MiB of 1 KiB frames, then one of 300 KiB, then 1 KiB frames again.
  std::vector<std::string> sent;
  for (int i = 0; i < 2048; ++i) sent.push_back(std::string(1024, static_cast<char>('a' + i % 26)));
  sent.push_back(std::string(300 * 1024, 'L'));
  for (int i = 0; i < 100; ++i) sent.push_back(std::string(1024, static_cast<char>('A' + i % 26)));
  for (const auto& p : sent) REQUIRE(out.add(std::string_view(p)));

  FrameReader in;
  std::vector<std::string> got;
  std::string_view frame;
  std::size_t largest_buffer = 0;
  for (int round = 0; round < 100000 && got.size() < sent.size(); ++round) {
    const IoStatus w = out.flush(pair.writer.get());
    REQUIRE((w == IoStatus::Ok || w == IoStatus::WouldBlock));
    REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
    largest_buffer = std::max(largest_buffer, in.buffer_bytes());
    while (in.next(frame)) got.emplace_back(frame);
  }
  REQUIRE(got == sent);
  // Before: the reader took everything the socket held (megabytes) into a growing buffer.
  CHECK(largest_buffer >= 300 * 1024);
  CHECK(largest_buffer <= 1024 * 1024);
  pair.writer.reset();
  CHECK(in.fill(pair.reader.get()) == IoStatus::Closed);
}

TEST_CASE("ipc: a FrameWriter sends a frame given in two parts as one payload", "[crawler][ipc]") {
  auto pair = stream_pair();
  FrameWriter out;
  const std::string head = "head:", tail(200 * 1024, 't');
  REQUIRE(out.add(std::string(head), std::string(tail)));
  REQUIRE(out.add(std::string("alone"), std::string()));
  REQUIRE(out.add(std::string(), std::string("tail only")));
  REQUIRE(out.pending_bytes() == 3 * 4 + head.size() + tail.size() + 5 + 9);
  FrameReader in;
  std::vector<std::string> got;
  std::string_view frame;
  for (int round = 0; round < 10000 && got.size() < 3; ++round) {
    const IoStatus w = out.flush(pair.writer.get());
    REQUIRE((w == IoStatus::Ok || w == IoStatus::WouldBlock));
    REQUIRE(in.fill(pair.reader.get()) == IoStatus::Ok);
    while (in.next(frame)) got.emplace_back(frame);
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0] == head + tail);
  CHECK(got[1] == "alone");
  CHECK(got[2] == "tail only");
  CHECK_FALSE(out.pending());
}

TEST_CASE("ipc: recv_packet returns each message whole, refuses one over kMaxPacketBytes",
          "[crawler][ipc]") {
  auto pair = make_packet_pair(1024 * 1024);
  REQUIRE(pair);
  const int out = pair->first.get(), in = pair->second.get();
  std::string message = "unchanged";
  REQUIRE(recv_packet(in, message, Blocking::No) == IoStatus::WouldBlock);
  CHECK(message == "unchanged");

  const std::size_t sizes[] = {1, 21, 4096, kMaxPacketBytes};
  for (std::size_t size : sizes) {
    INFO("size " << size);
    std::string sent(size, '\0');
    for (std::size_t k = 0; k < size; ++k) sent[k] = static_cast<char>(k * 31 + size);
    REQUIRE(send_packet(out, sent, Blocking::Yes) == IoStatus::Ok);
    // A short message after a long one: nothing of the long one may remain.
    REQUIRE(send_packet(out, "ab", Blocking::Yes) == IoStatus::Ok);
    REQUIRE(recv_packet(in, message, Blocking::No) == IoStatus::Ok);
    CHECK(message == sent);
    REQUIRE(recv_packet(in, message, Blocking::Yes) == IoStatus::Ok);
    CHECK(message == "ab");
  }
  const std::string too_big(kMaxPacketBytes + 1, 'x');
  REQUIRE(send_packet(out, too_big, Blocking::Yes) == IoStatus::Ok);
  CHECK(recv_packet(in, message, Blocking::No) == IoStatus::Error);
  pair->first.reset();
  CHECK(recv_packet(in, message, Blocking::No) == IoStatus::Closed);
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
  CHECK_FALSE(in.corrupt());
  std::string_view frame;
  CHECK_FALSE(in.next(frame));
  CHECK_FALSE(in.next(frame));  // nothing left to misread as a frame
  CHECK(in.corrupt());  // the caller drops the connection
  // More bytes would be read from the middle of a frame: the reader refuses them.
  REQUIRE(::write(pair.writer.get(), "more", 4) == 4);
  CHECK(in.fill(pair.reader.get()) == IoStatus::Error);
  CHECK_FALSE(in.next(frame));
}

TEST_CASE("ipc: a writer that closes while the reader's buffer is full loses no frame",
          "[crawler][ipc]") {
  auto pair = stream_pair();
  int size = 4 * 1024 * 1024;
  REQUIRE(::setsockopt(pair.writer.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
  // 1 MiB of 10 KiB frames, all in the socket before the first fill, then EOF: each fill stops
  // at a full buffer, and the parser's level-triggered poll brings it back until Closed.
  std::vector<std::string> sent;
  FrameWriter out;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(std::string(10 * 1024, static_cast<char>('a' + i % 26)));
    REQUIRE(out.add(std::string_view(sent.back())));
  }
  for (int round = 0; round < 1000 && out.pending(); ++round) {
    REQUIRE(out.flush(pair.writer.get()) != IoStatus::Error);
  }
  REQUIRE_FALSE(out.pending());
  pair.writer.reset();
  FrameReader in;
  std::vector<std::string> got;
  std::string_view frame;
  IoStatus st = IoStatus::Ok;
  int fills = 0;
  for (; fills < 1000 && st == IoStatus::Ok; ++fills) {
    st = in.fill(pair.reader.get());
    while (in.next(frame)) got.emplace_back(frame);
  }
  CHECK(st == IoStatus::Closed);
  CHECK(fills > 1);  // the buffer held less than the socket
  CHECK(got == sent);
}

// Where a FrameWriter's writes stopped, relative to the frame each stopped in; each distinct
// stop position counts once.
struct Stops {
  int at_frame_end = 0, in_header = 0, before_head = 0, between_parts = 0, in_a_part = 0;
};

// Sends `frames` two-part frames (random sizes from `seed`) through a socket whose send buffer
// is the kernel's minimum, while the reader drains 1-512 bytes at a time, and checks that the
// stream holds exactly the frames, in order. Returns where the writes stopped.
Stops partial_writes(unsigned seed, int frames) {
  // A Unix stream socket takes a write in chunks of about half its buffer (about 2 KiB at
  // the minimum) and stops at a chunk's end when the buffer is full. One flush sends at most
  // 32 frames, so frames average about 90 bytes: 32 of them are more than a chunk, and a
  // write stops inside a frame, at an offset that the random sizes before it decide.
  auto pair = stream_pair();
  int size = 1;  // the kernel's minimum
  REQUIRE(::setsockopt(pair.writer.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
  std::mt19937 rng(seed);
  FrameWriter out;
  std::vector<std::string> heads, tails;
  std::vector<std::size_t> starts;  // each frame's first byte in the stream
  std::size_t total = 0;
  for (int i = 0; i < frames; ++i) {
    std::string head(rng() % 16, static_cast<char>('a' + i % 26));
    std::string tail(rng() % 5 == 0 ? 0 : 20 + rng() % 160, static_cast<char>('A' + i % 26));
    if (!tail.empty()) tail[0] = static_cast<char>(i & 0x7f);
    starts.push_back(total);
    total += 4 + head.size() + tail.size();
    REQUIRE(out.add(std::string(head), std::string(tail)));
    heads.push_back(std::move(head));
    tails.push_back(std::move(tail));
  }
  REQUIRE(out.pending_bytes() == total);

  Stops stops;
  std::size_t last_stop = 0;
  auto classify = [&](std::size_t written) {
    if (written == last_stop) return;  // still waiting where the last flush stopped
    last_stop = written;
    const auto k = static_cast<std::size_t>(
        std::upper_bound(starts.begin(), starts.end(), written) - starts.begin() - 1);
    const std::size_t offset = written - starts[k];
    if (offset == 0) ++stops.at_frame_end;
    else if (offset < 4) ++stops.in_header;
    else if (offset == 4) ++stops.before_head;
    else if (offset == 4 + heads[k].size() && !tails[k].empty()) ++stops.between_parts;
    else ++stops.in_a_part;
  };
  std::string stream;
  stream.reserve(total);
  char chunk[512];
  for (int round = 0; round < 4000000 && stream.size() < total; ++round) {
    const IoStatus w = out.flush(pair.writer.get());
    if (w != IoStatus::Ok && w != IoStatus::WouldBlock) FAIL("flush failed");
    if (w == IoStatus::WouldBlock) classify(total - out.pending_bytes());
    const ssize_t n = ::read(pair.reader.get(), chunk, 1 + rng() % sizeof chunk);
    if (n > 0) stream.append(chunk, static_cast<std::size_t>(n));
  }
  REQUIRE(stream.size() == total);
  REQUIRE_FALSE(out.pending());

  // The bytes are exactly the frames, in order.
  std::size_t pos = 0;
  for (std::size_t k = 0; k < heads.size(); ++k) {
    std::uint32_t length = 0;
    std::memcpy(&length, stream.data() + pos, sizeof length);
    REQUIRE(length == heads[k].size() + tails[k].size());
    REQUIRE(stream.compare(pos + 4, length, heads[k] + tails[k]) == 0);
    pos += 4 + length;
  }
  REQUIRE(pos == total);
  return stops;
}

TEST_CASE("ipc: a FrameWriter resumes a partial write wherever it ended, between parts too",
          "[crawler][ipc]") {
  // The test counts where the writes stopped, so it shows that the cases it is about
  // occurred: inside a length prefix, exactly between a frame's two parts, inside a part.
  const Stops stops = partial_writes(7, 60000);  // about 5.5 MB
  INFO("distinct stops: frame end " << stops.at_frame_end << ", in header " << stops.in_header
                                    << ", before head " << stops.before_head
                                    << ", between parts " << stops.between_parts
                                    << ", in a part " << stops.in_a_part);
  CHECK(stops.in_header >= 3);
  CHECK(stops.between_parts >= 3);
  CHECK(stops.in_a_part >= 3);
}

TEST_CASE("ipc: partial writes, many seeds (diagnostic)", "[.][ipc-seeds]") {
  int worst_between = 1 << 30, worst_header = 1 << 30;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    const Stops s = partial_writes(seed, 60000);
    worst_between = std::min(worst_between, s.between_parts);
    worst_header = std::min(worst_header, s.in_header);
    std::printf("seed %u: end %d header %d before_head %d between %d part %d\n", seed,
                s.at_frame_end, s.in_header, s.before_head, s.between_parts, s.in_a_part);
  }
  std::printf("worst: between %d header %d\n", worst_between, worst_header);
  CHECK(worst_between >= 3);
}

}  // namespace crawler
