#include "crawler/messages.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/wire.h"

namespace {

using crawler::Committed;
using crawler::CommittedTask;
using crawler::Fetched;
using crawler::FetchResult;
using crawler::MessageType;
using crawler::Task;
using crawler::Took;

constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int32_t kMin32 = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax32 = std::numeric_limits<std::int32_t>::max();

std::uint8_t tag(MessageType type) { return static_cast<std::uint8_t>(type); }

// Doubles compare bit for bit, so NaN and -0.0 must survive too.
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_same(const Task& a, const Task& b) {
  CHECK(a.seq == b.seq);
  CHECK(a.url_id == b.url_id);
  CHECK(a.depth == b.depth);
  CHECK(a.attempt == b.attempt);
  CHECK(a.url == b.url);
  CHECK(a.kind == b.kind);
}

void check_same(const Took& a, const Took& b) {
  CHECK(a.pid == b.pid);
  CHECK(a.seq == b.seq);
  CHECK(a.started_ms == b.started_ms);
}

void check_same(const Fetched& a, const Fetched& b) {
  CHECK(a.seq == b.seq);
  CHECK(a.status == b.status);
  CHECK(a.retry_after_s == b.retry_after_s);
  CHECK(a.retry == b.retry);
  CHECK(a.host_trouble == b.host_trouble);
  CHECK(a.sent_ms == b.sent_ms);
}

void check_same(const FetchResult& a, const FetchResult& b) {
  check_same(a.task, b.task);
  CHECK(a.final_url == b.final_url);
  CHECK(a.status == b.status);
  CHECK(a.redirect_count == b.redirect_count);
  CHECK(a.content_type == b.content_type);
  CHECK(a.error_kind == b.error_kind);
  CHECK(a.error_detail == b.error_detail);
  CHECK(a.retry_after_s == b.retry_after_s);
  CHECK(a.x_robots_tag == b.x_robots_tag);
  CHECK(a.size_bytes == b.size_bytes);
  CHECK(a.fetch_ms == b.fetch_ms);
  CHECK(same_bits(a.fetched_at_s, b.fetched_at_s));
  CHECK(a.body_kept == b.body_kept);
  CHECK(a.body == b.body);
}

void check_same(const Committed& a, const Committed& b) {
  CHECK(a.urls_queued == b.urls_queued);
  REQUIRE(a.tasks.size() == b.tasks.size());
  for (std::size_t i = 0; i < a.tasks.size(); ++i) {
    CHECK(a.tasks[i].seq == b.tasks[i].seq);
    CHECK(a.tasks[i].status == b.tasks[i].status);
    CHECK(a.tasks[i].retry_after_s == b.tasks[i].retry_after_s);
    CHECK(a.tasks[i].error_kind == b.tasks[i].error_kind);
  }
}

std::string all_bytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
  return s;
}

std::vector<Task> sample_tasks() {
  std::vector<Task> out;
  out.push_back(Task{});
  out.push_back(Task{1, 2, 3, 4, "http://example.com/"});
  out.push_back(Task{kMax64, kMin64, kMax32, kMin32, "https://x.test/" + std::string(70000, 'a')});
  out.push_back(Task{-1, -1, -1, 0, all_bytes()});
  out.push_back(Task{7, 0, 0, 1, std::string("a\0b", 3)});
  out.push_back(Task{-5, 9, -1, 2, "http://example.com/robots.txt", crawler::TaskKind::Robots});
  return out;
}

std::vector<Took> sample_tooks() {
  return {Took{}, Took{1234, 5, 6'000'000'000LL}, Took{kMin32, kMin64, kMax64},
          Took{kMax32, kMax64, kMin64}, Took{-1, -1, -1}};
}

std::vector<Fetched> sample_fetched() {
  return {Fetched{},
          Fetched{1, 200, -1},
          Fetched{2, 503, 120},
          Fetched{kMax64, kMax32, kMax64},
          Fetched{kMin64, kMin32, kMin64},
          Fetched{-1, 0, 0},
          Fetched{3, 0, -1, true},
          Fetched{5, 503, -1, false, true},
          Fetched{6, 200, -1, false, false, 123456789},
          Fetched{4, 429, 30, true}};
}

std::vector<FetchResult> sample_results() {
  std::vector<FetchResult> out;
  out.push_back(FetchResult{});

  FetchResult ok;
  ok.task = Task{10, 20, 1, 1, "http://example.com/a"};
  ok.final_url = "http://example.com/b";
  ok.status = 200;
  ok.redirect_count = 1;
  ok.content_type = "text/html; charset=utf-8";
  ok.retry_after_s = -1;
  ok.x_robots_tag = "noindex, nofollow";
  ok.size_bytes = 5;
  ok.fetch_ms = 123;
  ok.fetched_at_s = 1700000000.125;
  ok.body_kept = true;
  ok.body = "<p>hi";
  out.push_back(ok);

  FetchResult failed;
  failed.task = Task{11, 21, 2, 3, "http://down.test/"};
  failed.status = 0;
  failed.error_kind = "timeout";
  failed.error_detail = "Operation timed out after 30000 milliseconds";
  failed.fetched_at_s = -0.0;
  out.push_back(failed);

  FetchResult extreme;
  extreme.task = Task{kMax64, kMin64, kMin32, kMax32, all_bytes()};
  extreme.final_url = all_bytes();
  extreme.status = kMax32;
  extreme.redirect_count = kMin32;
  extreme.content_type = std::string(1, '\0');
  extreme.error_kind = "\xff\xfe";
  extreme.error_detail = std::string(100000, '\n');
  extreme.retry_after_s = kMax64;
  extreme.x_robots_tag = "\r\n";
  extreme.size_bytes = kMin64;
  extreme.fetch_ms = kMax64;
  extreme.fetched_at_s = std::numeric_limits<double>::quiet_NaN();
  extreme.body_kept = true;
  extreme.body = std::string(1 << 20, '\0') + all_bytes();
  out.push_back(extreme);

  FetchResult infinite = ok;
  infinite.fetched_at_s = -std::numeric_limits<double>::infinity();
  infinite.body_kept = false;
  infinite.body.clear();
  out.push_back(infinite);
  return out;
}

std::vector<Committed> sample_committed() {
  std::vector<Committed> out;
  out.push_back(Committed{});
  out.push_back(Committed{{CommittedTask{1, 200, -1, ""}}, 3});
  Committed many;
  many.urls_queued = kMax64;
  for (int i = 0; i < 1000; ++i) {
    many.tasks.push_back(CommittedTask{i, i % 2 ? 503 : 0, i % 3 ? -1 : i,
                                       i % 5 ? "" : "network " + std::to_string(i)});
  }
  out.push_back(many);
  out.push_back(Committed{{CommittedTask{kMin64, kMin32, kMin64, all_bytes()},
                           CommittedTask{kMax64, kMax32, kMax64, std::string(3, '\0')}},
                          kMin64});
  return out;
}

// Every message some test below throws at every decoder.
std::vector<std::string> sample_encodings() {
  std::vector<std::string> all;
  for (const auto& t : sample_tasks()) all.push_back(encode(t));
  for (const auto& t : sample_tooks()) all.push_back(encode(t));
  for (const auto& f : sample_fetched()) all.push_back(encode(f));
  for (const auto& r : sample_results()) all.push_back(encode(r));
  for (const auto& c : sample_committed()) all.push_back(encode(c));
  all.push_back(crawler::encode_stop());
  std::vector<std::string> out;
  for (auto& wire : all) {
    if (wire.size() < 8192) out.push_back(std::move(wire));  // the prefix loop is quadratic
  }
  return out;
}

// Runs every decoder; returns how many accepted the input. Every accepted message must
// re-encode to exactly the input (the encoding is canonical), so nothing is half-read.
int decode_all(const std::string& input) {
  int accepted = 0;
  if (Task t; decode(input, t)) {
    ++accepted;
    CHECK(encode(t) == input);
  }
  if (Took t; decode(input, t)) {
    ++accepted;
    CHECK(encode(t) == input);
  }
  if (Fetched f; decode(input, f)) {
    ++accepted;
    CHECK(encode(f) == input);
  }
  if (FetchResult r; decode(input, r)) {
    ++accepted;
    // body_kept is read as "non-zero"; everything else must come back byte for byte.
    std::string again = encode(r);
    if (again.size() == input.size()) {
      std::string normalized = input;
      const std::size_t kept_at = input.size() - r.body.size() - 4 - 1;
      normalized[kept_at] = again[kept_at];
      CHECK(again == normalized);
    } else {
      CHECK(again.size() == input.size());
    }
  }
  if (Committed c; decode(input, c)) {
    ++accepted;
    CHECK(encode(c) == input);
  }
  return accepted;
}

}  // namespace

TEST_CASE("messages: a Task survives a round trip", "[crawler][messages]") {
  int i = 0;
  for (const auto& task : sample_tasks()) {
    DYNAMIC_SECTION("task " << i++) {
      const std::string wire = encode(task);
      CHECK(crawler::message_type(wire) == tag(MessageType::Task));
      Task back;
      back.url = "left over";
      REQUIRE(decode(wire, back));
      check_same(back, task);
    }
  }
}

TEST_CASE("messages: a Took survives a round trip", "[crawler][messages]") {
  int i = 0;
  for (const auto& took : sample_tooks()) {
    DYNAMIC_SECTION("took " << i++) {
      const std::string wire = encode(took);
      CHECK(crawler::message_type(wire) == tag(MessageType::Took));
      CHECK(wire.size() == 1 + 4 + 8 + 8);
      Took back{9, 9, 9};
      REQUIRE(decode(wire, back));
      check_same(back, took);
    }
  }
}

TEST_CASE("messages: a Fetched survives a round trip", "[crawler][messages]") {
  int i = 0;
  for (const auto& fetched : sample_fetched()) {
    DYNAMIC_SECTION("fetched " << i++) {
      const std::string wire = encode(fetched);
      CHECK(crawler::message_type(wire) == tag(MessageType::Fetched));
      CHECK(wire.size() == 1 + 8 + 4 + 8 + 1 + 1 + 8);
      Fetched back{9, 9, 9};
      REQUIRE(decode(wire, back));
      check_same(back, fetched);
    }
  }
}

TEST_CASE("messages: a FetchResult survives a round trip", "[crawler][messages]") {
  int i = 0;
  for (const auto& result : sample_results()) {
    DYNAMIC_SECTION("result " << i++) {
      const std::string wire = encode(result);
      CHECK(crawler::message_type(wire) == tag(MessageType::Result));
      // The fetcher sends the fields and the body apart: together they are the same bytes.
      CHECK(crawler::encode_head(result) + result.body == wire);
      FetchResult back;
      back.body = "stale";
      back.body_kept = !result.body_kept;
      REQUIRE(decode(wire, back));
      check_same(back, result);
    }
  }
}

TEST_CASE("messages: a Committed survives a round trip", "[crawler][messages]") {
  int i = 0;
  for (const auto& committed : sample_committed()) {
    DYNAMIC_SECTION("committed " << i++) {
      const std::string wire = encode(committed);
      CHECK(crawler::message_type(wire) == tag(MessageType::Committed));
      // Decoding replaces whatever the target held.
      Committed back{{CommittedTask{99, 99, 99, "stale"}}, 99};
      REQUIRE(decode(wire, back));
      check_same(back, committed);
    }
  }
}

TEST_CASE("messages: Stop is a bare type tag", "[crawler][messages]") {
  const std::string stop = crawler::encode_stop();
  CHECK(stop == std::string(1, static_cast<char>(tag(MessageType::Stop))));
  CHECK(crawler::message_type(stop) == tag(MessageType::Stop));
  CHECK(decode_all(stop) == 0);
}

TEST_CASE("messages: message_type reads the tag, 0 for an empty message", "[crawler][messages]") {
  CHECK(crawler::message_type("") == 0);
  CHECK(crawler::message_type(std::string(1, '\0')) == 0);
  CHECK(crawler::message_type("\x0a") == 10);
  CHECK(crawler::message_type("\xff rest") == 255);
  CHECK(crawler::message_type(encode(Took{})) == 10);
  CHECK(crawler::message_type(encode(Committed{})) == 11);
  CHECK(crawler::message_type(encode(Fetched{})) == 12);
  CHECK(crawler::message_type(encode(FetchResult{})) == 20);
  CHECK(crawler::message_type(encode(Task{})) == 1);
}

TEST_CASE("messages: each decoder accepts only its own type", "[crawler][messages]") {
  // Which decoders accept `wire`, by name.
  auto accepted_by = [](const std::string& wire) {
    std::string names;
    if (Task t; decode(wire, t)) names += "Task ";
    if (Took t; decode(wire, t)) names += "Took ";
    if (Fetched f; decode(wire, f)) names += "Fetched ";
    if (FetchResult r; decode(wire, r)) names += "FetchResult ";
    if (Committed c; decode(wire, c)) names += "Committed ";
    return names;
  };
  struct Row {
    const char* name;
    std::string wire;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"task", encode(Task{1, 2, 3, 4, "u"}), "Task "},
      {"took", encode(Took{1, 2, 3}), "Took "},
      // Took and Fetched have the same size: only the tag tells them apart.
      {"fetched", encode(Fetched{1, 2, 3}), "Fetched "},
      {"result", encode(FetchResult{}), "FetchResult "},
      {"committed", encode(Committed{}), "Committed "},
      {"committed with tasks", encode(Committed{{CommittedTask{1, 200, -1, "x"}}, 1}),
       "Committed "},
      {"stop", crawler::encode_stop(), ""},
      {"empty", "", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { CHECK(accepted_by(row.wire) == row.expected); }
  }
}

TEST_CASE("messages: a valid body under a wrong tag is rejected", "[crawler][messages]") {
  struct Row {
    const char* name;
    std::string wire;
  };
  std::vector<Row> rows;
  for (std::uint8_t wrong :
       {std::uint8_t{0}, std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{255}}) {
    std::string task = encode(Task{1, 2, 3, 4, "http://a/"});
    task[0] = static_cast<char>(wrong);
    rows.push_back({"task", task});
    std::string took = encode(Took{1, 2, 3});
    took[0] = static_cast<char>(wrong);
    rows.push_back({"took", took});
    std::string fetched = encode(Fetched{1, 2, 3});
    fetched[0] = static_cast<char>(wrong);
    rows.push_back({"fetched", fetched});
    std::string result = encode(FetchResult{});
    result[0] = static_cast<char>(wrong);
    rows.push_back({"result", result});
    std::string committed = encode(Committed{});
    committed[0] = static_cast<char>(wrong);
    rows.push_back({"committed", committed});
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    DYNAMIC_SECTION(rows[i].name << " with tag " << int(std::uint8_t(rows[i].wire[0]))) {
      CHECK(decode_all(rows[i].wire) == 0);
    }
  }
}

TEST_CASE("messages: every truncation of a valid message fails to decode",
          "[crawler][messages][robustness]") {
  const auto encodings = sample_encodings();
  REQUIRE(encodings.size() > 10);
  std::size_t prefixes = 0;
  std::size_t accepted = 0;
  for (const auto& wire : encodings) {
    for (std::size_t n = 0; n < wire.size(); ++n) {
      accepted += static_cast<std::size_t>(decode_all(wire.substr(0, n)));
      ++prefixes;
    }
    // ... and so does the message with one byte too many.
    accepted += static_cast<std::size_t>(decode_all(wire + '\0'));
  }
  CHECK(prefixes > 1000);
  CHECK(accepted == 0);
}

TEST_CASE("messages: a FetchResult cut anywhere fails to decode",
          "[crawler][messages][robustness]") {
  // One large message, cut at every field boundary and a sample of points inside the body.
  FetchResult big = sample_results()[3];
  const std::string wire = encode(big);
  for (std::size_t n = 0; n < 600; ++n) {
    FetchResult r;
    CHECK_FALSE(decode(std::string_view(wire).substr(0, n), r));
  }
  for (std::size_t n = 600; n < wire.size(); n += 4099) {
    FetchResult r;
    CHECK_FALSE(decode(std::string_view(wire).substr(0, n), r));
  }
  FetchResult whole;
  REQUIRE(decode(wire, whole));
  check_same(whole, big);
}

TEST_CASE("messages: lengths that point past the end are rejected",
          "[crawler][messages][robustness]") {
  SECTION("a Task whose URL length is huge") {
    common::Writer w;
    w.put_u8(tag(MessageType::Task));
    w.put_i64(1);
    w.put_i64(2);
    w.put_i32(3);
    w.put_i32(4);
    w.put_u32(0xFFFFFFFFu);
    w.put_u8('x');
    Task t;
    CHECK_FALSE(decode(w.data(), t));
  }
  // Built with common::Writer, so the tests hold whatever byte order the wire uses.
  SECTION("a Task whose URL length is one more than the bytes left") {
    auto task_with_url_length = [](std::uint32_t length) {
      common::Writer w;
      w.put_u8(tag(MessageType::Task));
      w.put_i64(1);
      w.put_i64(2);
      w.put_i32(3);
      w.put_i32(4);
      w.put_u32(length);
      w.put_u8('a');
      w.put_u8('b');
      w.put_u8('c');
      w.put_u8(0);  // TaskKind::Page
      return std::move(w).take();
    };
    Task t;
    CHECK(decode(task_with_url_length(3), t));  // the control: exact length
    CHECK(t.url == "abc");
    CHECK_FALSE(decode(task_with_url_length(4), t));
    CHECK_FALSE(decode(task_with_url_length(2), t));  // 'c' is no TaskKind
  }
  SECTION("a Task with an unknown kind") {
    Task robots{1, 2, 3, 4, "http://a.test/robots.txt", crawler::TaskKind::Robots};
    std::string wire = encode(robots);
    Task t;
    CHECK(decode(wire, t));
    CHECK(t.kind == crawler::TaskKind::Robots);
    wire.back() = 2;
    CHECK_FALSE(decode(wire, t));
  }
  SECTION("a Committed claiming four billion tasks") {
    common::Writer w;
    w.put_u8(tag(MessageType::Committed));
    w.put_i64(0);
    w.put_u32(0xFFFFFFFFu);
    Committed c;
    CHECK_FALSE(decode(w.data(), c));
  }
  SECTION("a Committed whose count disagrees with its tasks") {
    auto committed_with_count = [](std::uint32_t count) {
      common::Writer w;
      w.put_u8(tag(MessageType::Committed));
      w.put_i64(5);
      w.put_u32(count);
      for (std::int64_t seq : {1, 2}) {
        w.put_i64(seq);
        w.put_i32(200);
        w.put_i64(-1);
        w.put_string("e");
      }
      return std::move(w).take();
    };
    Committed c;
    REQUIRE(decode(committed_with_count(2), c));  // the control: the count matches
    CHECK(c.tasks.size() == 2);
    CHECK(c.urls_queued == 5);
    CHECK_FALSE(decode(committed_with_count(3), c));  // one task missing
    CHECK_FALSE(decode(committed_with_count(1), c));  // the second task is trailing garbage
    CHECK_FALSE(decode(committed_with_count(0), c));
  }
}

TEST_CASE("messages: random bytes never crash a decoder", "[crawler][messages][robustness]") {
  std::mt19937 rng(20240521);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 200);
  const std::uint8_t tags[] = {0, 1, 2, 10, 11, 12, 20, 255};
  // Took and Fetched are fixed-size (1 + 20 bytes): any 20 bytes under their tag are a valid
  // message. Everything else has lengths inside that noise essentially never gets right.
  constexpr std::size_t kFixedSize = 1 + 20;
  std::size_t fixed_size_accepted = 0, other_accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    // Every eighth input has exactly the fixed size, to exercise the accepting path too.
    std::string input(i % 8 == 5 ? kFixedSize : length(rng), '\0');
    for (char& c : input) c = static_cast<char>(byte(rng));
    // Most inputs get a real tag, so the decoders read past it.
    if (!input.empty() && i % 4 != 0) input[0] = static_cast<char>(tags[i % 8]);
    const int accepted = decode_all(input);
    CHECK(accepted <= 1);
    (input.size() == kFixedSize ? fixed_size_accepted : other_accepted) +=
        static_cast<std::size_t>(accepted);
  }
  CHECK(fixed_size_accepted > 0);
  CHECK(other_accepted == 0);
}

TEST_CASE("messages: mutated valid messages decode canonically or not at all",
          "[crawler][messages][robustness]") {
  std::mt19937 rng(7);
  const auto encodings = sample_encodings();
  std::size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string wire = encodings[static_cast<std::size_t>(i) % encodings.size()];
    if (wire.size() < 2) continue;
    const int flips = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(1, wire.size() - 1)(rng);
      wire[at] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    }
    if (decode_all(wire) > 0) {
      ++accepted;
    } else {
      ++rejected;
    }
  }
  // Changing a value keeps a message valid, changing a length breaks it: both must occur.
  CHECK(accepted > 0);
  CHECK(rejected > 0);
}
