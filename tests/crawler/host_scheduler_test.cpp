#include "crawler/host_scheduler.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using crawler::HostScheduler;
using crawler::Task;

Task make_task(std::int64_t seq, const std::string& url = "") {
  Task task;
  task.seq = seq;
  task.url_id = seq * 10;
  task.depth = static_cast<std::int32_t>(seq % 3);
  task.url = url.empty() ? "http://example.com/" + std::to_string(seq) : url;
  return task;
}

// The host and seq of the next task, or {"", -1} when nothing may start at now_ms.
std::pair<std::string, std::int64_t> take(HostScheduler& scheduler, std::int64_t now_ms) {
  auto next = scheduler.next(now_ms);
  if (!next) return {"", -1};
  return {next->first, next->second.seq};
}

// Every task that may start at now_ms, in the order next() hands them out.
std::vector<std::pair<std::string, std::int64_t>> drain(HostScheduler& scheduler,
                                                        std::int64_t now_ms) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (auto next = take(scheduler, now_ms); next.second != -1; next = take(scheduler, now_ms)) {
    out.push_back(next);
  }
  return out;
}

using Taken = std::vector<std::pair<std::string, std::int64_t>>;

}  // namespace

TEST_CASE("host_scheduler: an empty scheduler has nothing to hand out", "[crawler][scheduler]") {
  HostScheduler scheduler(2, 1000);
  CHECK(scheduler.queued() == 0);
  CHECK_FALSE(scheduler.next(0).has_value());
  CHECK_FALSE(scheduler.next(1'000'000).has_value());
  CHECK(scheduler.next_ready_ms() == -1);
}

TEST_CASE("host_scheduler: a task keeps its fields and host on the way through",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 0);
  Task task = make_task(42, "http://example.com/a?b=c");
  task.attempt = 3;
  scheduler.add("example.com", task);
  CHECK(scheduler.queued() == 1);
  auto next = scheduler.next(0);
  REQUIRE(next.has_value());
  CHECK(next->first == "example.com");
  CHECK(next->second.seq == 42);
  CHECK(next->second.url_id == 420);
  CHECK(next->second.depth == 0);
  CHECK(next->second.attempt == 3);
  CHECK(next->second.url == "http://example.com/a?b=c");
  CHECK(scheduler.queued() == 0);
}

TEST_CASE("host_scheduler: tasks of one host go out in the order they were added",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(100, 0);
  for (std::int64_t seq : {5, 3, 9, 1, 7}) scheduler.add("a", make_task(seq));
  CHECK(scheduler.queued() == 5);
  CHECK(drain(scheduler, 0) == Taken{{"a", 5}, {"a", 3}, {"a", 9}, {"a", 1}, {"a", 7}});
  CHECK(scheduler.queued() == 0);
}

TEST_CASE("host_scheduler: across the hosts that may start, the oldest task goes first",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 0);
  scheduler.add("a", make_task(5));
  scheduler.add("a", make_task(6));
  scheduler.add("b", make_task(1));
  scheduler.add("b", make_task(2));
  scheduler.add("c", make_task(3));
  // Each host once (per_host 1), oldest head first: not the order the hosts were added in.
  CHECK(drain(scheduler, 0) == Taken{{"b", 1}, {"c", 3}, {"a", 5}});
  for (const char* host : {"a", "b", "c"}) scheduler.finished(host);
  CHECK(drain(scheduler, 1) == Taken{{"b", 2}, {"a", 6}});
  // add_front moves the host by its new head.
  scheduler.finished("a");
  scheduler.finished("b");
  scheduler.add("a", make_task(9));
  scheduler.add("b", make_task(8));
  scheduler.add_front("a", make_task(7));
  CHECK(drain(scheduler, 2) == Taken{{"a", 7}, {"b", 8}});
}

TEST_CASE("host_scheduler: a host handed more of the window catches up instead of lagging",
          "[crawler][scheduler]") {
  // Tasks in discovery order, one host in three getting twice its share: b.
  HostScheduler scheduler(2, 0);
  std::int64_t seq = 0;
  for (int round = 0; round < 100; ++round) {
    scheduler.add("a", make_task(++seq));
    scheduler.add("b", make_task(++seq));
    scheduler.add("b", make_task(++seq));
    scheduler.add("c", make_task(++seq));
  }
  // Two fetch slots in all: every request ends before the next pair starts. Served in turn,
  // b would fall 100 tasks behind; oldest first, what goes out together stays close.
  std::int64_t widest = 0;
  for (std::int64_t now = 0; scheduler.queued() > 0; ++now) {
    auto first = scheduler.next(now);
    REQUIRE(first);
    auto second = scheduler.next(now);
    if (second) {
      widest = std::max(widest, std::abs(second->second.seq - first->second.seq));
      scheduler.finished(second->first);
    }
    scheduler.finished(first->first);
  }
  CHECK(widest <= 2);
}

TEST_CASE("host_scheduler: per_host caps the requests in flight to one host",
          "[crawler][scheduler][policy]") {
  struct Row {
    const char* name;
    int per_host;
    int tasks;
    std::size_t expected_first_wave;
  };
  const std::vector<Row> rows = {
      {"one at a time", 1, 5, 1},
      {"two at a time", 2, 5, 2},
      {"cap above the queue", 8, 5, 5},
      {"cap equals the queue", 5, 5, 5},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      HostScheduler scheduler(row.per_host, 0);
      for (int i = 0; i < row.tasks; ++i) scheduler.add("a", make_task(i));
      auto first = drain(scheduler, 0);
      CHECK(first.size() == row.expected_first_wave);
      CHECK(scheduler.queued() == static_cast<std::size_t>(row.tasks) - first.size());
      // However late it gets, the host stays at its cap until a request finishes.
      CHECK_FALSE(scheduler.next(1'000'000).has_value());
      if (scheduler.queued() > 0) {
        scheduler.finished("a");
        auto second = drain(scheduler, 1'000'000);
        REQUIRE(second.size() == 1);
        CHECK(second[0].second == static_cast<std::int64_t>(first.size()));
      }
    }
  }
}

TEST_CASE("host_scheduler: a host at its cap does not count as waiting on time",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 0);
  scheduler.add("a", make_task(1));
  scheduler.add("a", make_task(2));
  REQUIRE(take(scheduler, 0) == std::make_pair(std::string("a"), std::int64_t{1}));
  CHECK(scheduler.queued() == 1);
  CHECK(scheduler.next_ready_ms() == -1);
  scheduler.finished("a");
  CHECK(scheduler.next_ready_ms() == 0);
}

TEST_CASE("host_scheduler: the delay runs between request starts, not from the end",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(1, 1000);
  for (int i = 1; i <= 3; ++i) scheduler.add("a", make_task(i));
  REQUIRE(take(scheduler, 0).second == 1);
  scheduler.started("a", 0);

  SECTION("a short request still waits out the delay") {
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1000);
    CHECK(take(scheduler, 10).second == -1);
    CHECK(take(scheduler, 999).second == -1);
    CHECK(take(scheduler, 1000).second == 2);
  }
  SECTION("a request longer than the delay lets the next start at once") {
    CHECK(take(scheduler, 3000).second == -1);  // still in flight: per_host is 1
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1000);
    CHECK(take(scheduler, 3000).second == 2);
    // ... and the one after waits a delay from that start.
    scheduler.started("a", 3000);
    scheduler.finished("a");
    CHECK(take(scheduler, 3999).second == -1);
    CHECK(take(scheduler, 4000).second == 3);
  }
}

TEST_CASE("host_scheduler: the delay counts from the start the fetcher reports",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(2, 1000);
  for (int i = 1; i <= 3; ++i) scheduler.add("a", make_task(i));
  REQUIRE(take(scheduler, 0).second == 1);
  // With a delay a host has one request at a time, whatever per_host says.
  CHECK(scheduler.next_ready_ms() == -1);

  SECTION("until started() arrives, the request counts as started when handed out") {
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1000);
  }
  SECTION("a later start pushes the next one back") {
    scheduler.started("a", 250);
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1250);
    CHECK(take(scheduler, 1000).second == -1);
    CHECK(take(scheduler, 1249).second == -1);
    CHECK(take(scheduler, 1250).second == 2);
  }
  SECTION("an earlier reported start never shortens the wait") {
    scheduler.started("a", -500);
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1000);
    CHECK(take(scheduler, 999).second == -1);
    CHECK(take(scheduler, 1000).second == 2);
  }
  SECTION("the send time, reported after the take, counts too") {
    scheduler.started("a", 10);   // taken by a fetcher
    scheduler.started("a", 600);  // sent after a slow connect
    scheduler.finished("a");
    CHECK(scheduler.next_ready_ms() == 1600);
    CHECK(take(scheduler, 1599).second == -1);
    CHECK(take(scheduler, 1600).second == 2);
  }
}

TEST_CASE("host_scheduler: with no delay a host refills as soon as a slot frees",
          "[crawler][scheduler]") {
  HostScheduler scheduler(2, 0);
  for (int i = 1; i <= 4; ++i) scheduler.add("a", make_task(i));
  CHECK(drain(scheduler, 0) == Taken{{"a", 1}, {"a", 2}});
  scheduler.finished("a");
  CHECK(drain(scheduler, 0) == Taken{{"a", 3}});
  scheduler.finished("a");
  scheduler.finished("a");
  CHECK(drain(scheduler, 0) == Taken{{"a", 4}});
  CHECK(scheduler.queued() == 0);
}

TEST_CASE("host_scheduler: a host waiting on its delay does not block other hosts",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(1, 1000);
  scheduler.add("slow.example", make_task(1));
  scheduler.add("slow.example", make_task(2));
  scheduler.add("slow.example", make_task(3));
  REQUIRE(take(scheduler, 0) == std::make_pair(std::string("slow.example"), std::int64_t{1}));
  scheduler.started("slow.example", 0);
  scheduler.finished("slow.example");
  // slow.example now waits until 1000; hosts added later must not queue behind it.
  scheduler.add("b.example", make_task(10));
  scheduler.add("c.example", make_task(20));
  scheduler.add("b.example", make_task(11));
  auto now = drain(scheduler, 10);
  std::sort(now.begin(), now.end());
  CHECK(now == Taken{{"b.example", 10}, {"c.example", 20}});
  CHECK(scheduler.queued() == 3);
  CHECK(scheduler.next_ready_ms() == 1000);
  scheduler.finished("b.example");
  scheduler.finished("c.example");
  // The delay applies to every host: b.example started at 10, so it may go again at 1010.
  CHECK(drain(scheduler, 1000) == Taken{{"slow.example", 2}});
  CHECK(scheduler.next_ready_ms() == 1010);
  CHECK(drain(scheduler, 1010) == Taken{{"b.example", 11}});
}

TEST_CASE("host_scheduler: a host at its cap does not block other hosts",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(1, 0);
  for (int i = 0; i < 10; ++i) scheduler.add("busy", make_task(i));
  scheduler.add("quiet", make_task(100));
  auto taken = drain(scheduler, 0);
  std::sort(taken.begin(), taken.end());
  CHECK(taken == Taken{{"busy", 0}, {"quiet", 100}});
  CHECK(scheduler.queued() == 9);
}

TEST_CASE("host_scheduler: next_ready_ms is the earliest time a waiting host may start",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 500);
  for (const char* host : {"a", "b", "c"}) {
    scheduler.add(host, make_task(1));
    scheduler.add(host, make_task(2));
  }
  CHECK(scheduler.next_ready_ms() == 0);  // ready now
  REQUIRE(take(scheduler, 100).second == 1);
  REQUIRE(take(scheduler, 200).second == 1);
  REQUIRE(take(scheduler, 300).second == 1);
  // All three are in flight at per_host 1: nobody waits on time alone.
  CHECK(scheduler.next_ready_ms() == -1);
  std::vector<std::string> order;
  for (const auto& [host, start] :
       std::vector<std::pair<std::string, int>>{{"c", 300}, {"a", 100}, {"b", 200}}) {
    scheduler.started(host, start);
    scheduler.finished(host);
  }
  CHECK(scheduler.next_ready_ms() == 600);
  CHECK(take(scheduler, 599).second == -1);
  CHECK(take(scheduler, 600) == std::make_pair(std::string("a"), std::int64_t{2}));
  CHECK(scheduler.next_ready_ms() == 700);
  CHECK(take(scheduler, 800) == std::make_pair(std::string("b"), std::int64_t{2}));
  CHECK(take(scheduler, 800) == std::make_pair(std::string("c"), std::int64_t{2}));
  CHECK(scheduler.next_ready_ms() == -1);
  CHECK(scheduler.queued() == 0);
}

TEST_CASE("host_scheduler: finished with not_before_ms holds the host back",
          "[crawler][scheduler][policy]") {
  struct Row {
    const char* name;
    std::int64_t delay_ms;
    std::int64_t not_before_ms;
    std::int64_t expected_ready_ms;
  };
  const std::vector<Row> rows = {
      {"Retry-After beyond the delay wins", 1000, 60'000, 60'000},
      {"Retry-After inside the delay changes nothing", 1000, 500, 1000},
      {"zero means no back-off", 1000, 0, 1000},
      {"back-off with no delay", 0, 5000, 5000},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      HostScheduler scheduler(1, row.delay_ms);
      scheduler.add("a", make_task(1));
      scheduler.add("a", make_task(2));
      scheduler.add("b", make_task(3));
      REQUIRE(take(scheduler, 0) == std::make_pair(std::string("a"), std::int64_t{1}));
      scheduler.started("a", 0);
      scheduler.finished("a", row.not_before_ms);
      // b is unaffected by a's back-off.
      CHECK(take(scheduler, 0) == std::make_pair(std::string("b"), std::int64_t{3}));
      CHECK(scheduler.next_ready_ms() == row.expected_ready_ms);
      CHECK(take(scheduler, row.expected_ready_ms - 1).second == -1);
      CHECK(take(scheduler, row.expected_ready_ms).second == 2);
    }
  }
}

TEST_CASE("host_scheduler: a back-off outlives an idle host", "[crawler][scheduler][policy]") {
  HostScheduler scheduler(1, 0);
  scheduler.add("a", make_task(1));
  REQUIRE(take(scheduler, 0).second == 1);
  scheduler.finished("a", 10'000);  // e.g. 503 with Retry-After: 10
  // The queue for "a" is empty now; a task found later must still respect the back-off.
  scheduler.add("a", make_task(2));
  CHECK(scheduler.next_ready_ms() == 10'000);
  CHECK(take(scheduler, 9'999).second == -1);
  CHECK(take(scheduler, 10'000).second == 2);
}

TEST_CASE("host_scheduler: a delay still running outlives an idle host",
          "[crawler][scheduler][policy]") {
  HostScheduler scheduler(1, 1000);
  scheduler.add("a", make_task(1));
  REQUIRE(take(scheduler, 0).second == 1);
  scheduler.started("a", 0);
  scheduler.finished("a");
  scheduler.add("a", make_task(2));
  CHECK(take(scheduler, 999).second == -1);
  CHECK(take(scheduler, 1000).second == 2);
}

TEST_CASE("host_scheduler: a host idle past its delay starts afresh", "[crawler][scheduler]") {
  HostScheduler scheduler(1, 1000);
  scheduler.add("a", make_task(1));
  scheduler.add("b", make_task(2));
  REQUIRE(take(scheduler, 0).second != -1);
  REQUIRE(take(scheduler, 0).second != -1);
  scheduler.started("a", 0);
  scheduler.finished("a");
  scheduler.finished("b");
  CHECK(take(scheduler, 5000).second == -1);  // nothing queued; the clock moved to 5000
  scheduler.add("a", make_task(3));
  CHECK(scheduler.next_ready_ms() <= 5000);
  CHECK(take(scheduler, 5000).second == 3);
}

TEST_CASE("host_scheduler: events for unknown hosts are ignored", "[crawler][scheduler]") {
  HostScheduler scheduler(1, 1000);
  scheduler.started("nobody", 123);
  scheduler.finished("nobody", 99'999);
  CHECK(scheduler.queued() == 0);
  CHECK(scheduler.next_ready_ms() == -1);
  // A host first seen after those events is not held back by them.
  scheduler.add("nobody", make_task(1));
  CHECK(scheduler.next_ready_ms() == 0);
  CHECK(take(scheduler, 0).second == 1);
}

TEST_CASE("host_scheduler: extra finished() calls do not open extra slots",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 0);
  for (int i = 1; i <= 3; ++i) scheduler.add("a", make_task(i));
  REQUIRE(take(scheduler, 0).second == 1);
  scheduler.finished("a");
  scheduler.finished("a");  // duplicate: in flight must not go negative
  CHECK(drain(scheduler, 0) == Taken{{"a", 2}});
  CHECK(take(scheduler, 0).second == -1);
}

TEST_CASE("host_scheduler: a clock that steps back never releases a host early",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 1000);
  scheduler.add("a", make_task(1));
  scheduler.add("a", make_task(2));
  REQUIRE(take(scheduler, 5000).second == 1);
  scheduler.finished("a");
  CHECK(take(scheduler, 100).second == -1);
  CHECK(take(scheduler, 5999).second == -1);
  CHECK(take(scheduler, 6000).second == 2);
}

TEST_CASE("host_scheduler: a clock behind the latest one still gets a host due by it",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 100);
  scheduler.add("a", make_task(1));
  scheduler.add("a", make_task(3));
  scheduler.add("b", make_task(2));
  scheduler.add("b", make_task(4));
  REQUIRE(take(scheduler, 0).second == 1);
  REQUIRE(take(scheduler, 0).second == 2);
  scheduler.started("a", 400);                 // a may start again at 500, b at 100
  REQUIRE(take(scheduler, 600).second == -1);  // both in flight; 600 is the latest time seen
  scheduler.finished("a");
  scheduler.finished("b");
  // a has the older task but is due only by 600: b goes out, then nothing until a's time.
  CHECK(take(scheduler, 300) == std::make_pair(std::string("b"), std::int64_t{4}));
  CHECK(take(scheduler, 300).second == -1);
  CHECK(take(scheduler, 500) == std::make_pair(std::string("a"), std::int64_t{3}));
}

// A model of the contract, run against the scheduler on fake time with random traffic:
// never more than per_host in flight, starts to one host at least delay_ms apart, per-host
// FIFO, and no idling: when next() says "nothing", every host with work is at its cap or
// waiting on time, and next_ready_ms() names the earliest such time.
TEST_CASE("host_scheduler: random traffic keeps every politeness invariant",
          "[crawler][scheduler][policy]") {
  struct Params {
    int per_host;
    std::int64_t delay_ms;
    std::uint32_t seed;
  };
  const std::vector<Params> params = {
      {1, 0, 1}, {1, 100, 2}, {2, 100, 3}, {3, 250, 4}, {4, 0, 5}, {2, 1000, 6},
  };
  const std::vector<std::string> hosts = {"a.test", "b.test", "c.test", "d.test", "e.test"};
  for (const auto& p : params) {
    DYNAMIC_SECTION("per_host " << p.per_host << " delay " << p.delay_ms) {
      std::mt19937 rng(p.seed);
      HostScheduler scheduler(p.per_host, p.delay_ms);
      const int cap = p.delay_ms > 0 ? 1 : p.per_host;  // one at a time with a delay

      struct Model {
        std::vector<std::int64_t> queue;  // seqs in add order
        std::vector<std::int64_t> in_flight_end_ms;
        std::int64_t ready_at_ms = 0;  // the scheduler's next start time for the host
        std::int64_t last_start_ms = -1'000'000'000;
      };
      std::map<std::string, Model> model;
      std::int64_t seq = 0;
      std::int64_t now = 0;
      std::size_t handed_out = 0;
      std::size_t added = 0;
      std::size_t violations = 0;

      for (int step = 0; step < 2000; ++step) {
        // New work arrives for the first 1500 steps.
        if (step < 1500) {
          int n = std::uniform_int_distribution<int>(0, 3)(rng);
          for (int i = 0; i < n; ++i) {
            const std::string& host =
                hosts[std::uniform_int_distribution<std::size_t>(0, hosts.size() - 1)(rng)];
            scheduler.add(host, make_task(++seq));
            model[host].queue.push_back(seq);
            ++added;
          }
        }
        // Requests whose time is up finish, some with a back-off.
        for (auto& [host, m] : model) {
          for (auto it = m.in_flight_end_ms.begin(); it != m.in_flight_end_ms.end();) {
            if (*it > now) {
              ++it;
              continue;
            }
            it = m.in_flight_end_ms.erase(it);
            std::int64_t not_before = 0;
            if (std::uniform_int_distribution<int>(0, 19)(rng) == 0) {
              not_before = now + std::uniform_int_distribution<int>(0, 3000)(rng);
            }
            scheduler.finished(host, not_before);
            m.ready_at_ms = std::max(m.ready_at_ms, not_before);
          }
        }
        // Hand out everything that may start now.
        while (auto next = scheduler.next(now)) {
          ++handed_out;
          Model& m = model[next->first];
          if (m.queue.empty() || m.queue.front() != next->second.seq) ++violations;  // FIFO
          if (!m.queue.empty()) m.queue.erase(m.queue.begin());
          if (static_cast<int>(m.in_flight_end_ms.size()) >= cap) ++violations;
          if (now < m.ready_at_ms) ++violations;
          if (now - m.last_start_ms < p.delay_ms) ++violations;
          // The transfer really starts a little later, and the fetcher says so.
          const std::int64_t started = now + std::uniform_int_distribution<int>(0, 20)(rng);
          scheduler.started(next->first, started);
          m.last_start_ms = started;
          m.ready_at_ms = std::max({m.ready_at_ms, now + p.delay_ms, started + p.delay_ms});
          m.in_flight_end_ms.push_back(started + std::uniform_int_distribution<int>(1, 400)(rng));
        }
        // No idling: whoever has work is at its cap or waiting on time.
        std::int64_t earliest = -1;
        for (const auto& [host, m] : model) {
          if (m.queue.empty()) continue;
          const bool at_cap = static_cast<int>(m.in_flight_end_ms.size()) >= cap;
          if (!at_cap && m.ready_at_ms <= now) ++violations;
          if (!at_cap && (earliest == -1 || m.ready_at_ms < earliest)) earliest = m.ready_at_ms;
        }
        if (scheduler.next_ready_ms() != earliest) ++violations;
        now += std::uniform_int_distribution<int>(1, 60)(rng);
      }
      // Let everything drain.
      for (int guard = 0; guard < 100'000 && handed_out < added; ++guard) {
        for (auto& [host, m] : model) {
          for (std::size_t i = 0; i < m.in_flight_end_ms.size(); ++i) scheduler.finished(host);
          m.in_flight_end_ms.clear();
        }
        while (auto next = scheduler.next(now)) {
          ++handed_out;
          model[next->first].in_flight_end_ms.push_back(now);
        }
        now += 50;
      }
      CHECK(violations == 0);
      CHECK(added > 1000);
      CHECK(handed_out == added);
      CHECK(scheduler.queued() == 0);
    }
  }
}

TEST_CASE("host_scheduler: a host's Crawl-delay spaces its starts, other hosts keep --delay",
          "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(4, 100);
  for (int i = 0; i < 3; ++i) scheduler.add("slow", make_task(i));
  for (int i = 10; i < 13; ++i) scheduler.add("fast", make_task(i));
  // robots.txt of "slow" started at 0 and said Crawl-delay: 10.
  scheduler.set_delay("slow", 10'000, 0);
  CHECK(scheduler.delay_of("slow") == 10'000);
  CHECK(scheduler.delay_of("fast") == 100);
  CHECK(drain(scheduler, 0) == Taken{{"fast", 10}});
  scheduler.finished("fast");
  CHECK(drain(scheduler, 100) == Taken{{"fast", 11}});
  scheduler.finished("fast");
  CHECK(drain(scheduler, 200) == Taken{{"fast", 12}});
  CHECK(drain(scheduler, 9'999).empty());
  CHECK(drain(scheduler, 10'000) == Taken{{"slow", 0}});
  scheduler.started("slow", 10'050);
  scheduler.finished("slow");
  CHECK(drain(scheduler, 20'049).empty());
  CHECK(drain(scheduler, 20'050) == Taken{{"slow", 1}});
}

TEST_CASE("host_scheduler: a host with a delay gets one request at a time, spaced from its send",
          "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(8, 250);
  for (int i = 0; i < 4; ++i) scheduler.add("a", make_task(i));
  CHECK(drain(scheduler, 0) == Taken{{"a", 0}});  // not 8: one at a time with a delay
  scheduler.started("a", 5);    // the fetcher took it at 5 ...
  scheduler.started("a", 40);   // ... and the request went out at 40 (a slow connect)
  scheduler.finished("a");
  CHECK(drain(scheduler, 289).empty());
  CHECK(drain(scheduler, 290) == Taken{{"a", 1}});
  // Without a delay the per-host limit applies as usual.
  HostScheduler wide(3, 0);
  for (int i = 0; i < 5; ++i) wide.add("a", make_task(i));
  CHECK(drain(wide, 0).size() == 3);
}

TEST_CASE("host_scheduler: a Crawl-delay shorter than --delay changes nothing",
          "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(1, 500);
  scheduler.set_delay("a", 200, 0);
  CHECK(scheduler.delay_of("a") == 500);
  scheduler.add("a", make_task(1));
  scheduler.add("a", make_task(2));
  CHECK(take(scheduler, 0) == std::make_pair(std::string("a"), std::int64_t{1}));
  scheduler.finished("a");
  CHECK(take(scheduler, 499).second == -1);
  CHECK(take(scheduler, 500).second == 2);
}

TEST_CASE("host_scheduler: failed requests back the host off exponentially, success resets",
          "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(1, 0);
  for (int i = 0; i < 6; ++i) scheduler.add("a", make_task(i));
  scheduler.add("b", make_task(100));
  std::int64_t now = 0;
  const std::int64_t base = HostScheduler::kBackoffBaseMs;
  for (int failure = 0; failure < 3; ++failure) {
    auto taken = take(scheduler, now);
    REQUIRE(taken.first == "a");
    scheduler.finished("a", 0, true, now);
    const std::int64_t wait = base << failure;  // 500, 1000, 2000
    // Another host is not held up by this one's trouble.
    if (failure == 0) CHECK(take(scheduler, now) == std::make_pair(std::string("b"), std::int64_t{100}));
    CHECK(take(scheduler, now + wait - 1).second == -1);
    now += wait;
  }
  auto taken = take(scheduler, now);
  REQUIRE(taken.first == "a");
  scheduler.finished("a", 0, false, now);  // success: no back-off for the next one
  CHECK(take(scheduler, now).first == "a");
  scheduler.finished("a", 0, true, now);
  CHECK(take(scheduler, now + base - 1).second == -1);
  CHECK(take(scheduler, now + base).first == "a");
}

TEST_CASE("host_scheduler: an abandoned request frees its slot and keeps the back-off",
          "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(1, 0);
  for (int i = 0; i < 4; ++i) scheduler.add("a", make_task(i));
  const std::int64_t base = HostScheduler::kBackoffBaseMs;
  REQUIRE(take(scheduler, 0).first == "a");
  scheduler.finished("a", 0, true, 0);  // one failure: 500 ms
  REQUIRE(take(scheduler, base).first == "a");
  scheduler.abandoned("a");  // e.g. its fetcher died: no outcome
  // The slot is free again at once, and the count of failures is kept: the next failure
  // backs off twice as long, as if the abandoned request had not happened.
  REQUIRE(take(scheduler, base).first == "a");
  scheduler.finished("a", 0, true, base);
  CHECK(take(scheduler, base + 2 * base - 1).second == -1);
  CHECK(take(scheduler, base + 2 * base).first == "a");
  scheduler.abandoned("nowhere");  // unknown hosts are ignored
}

TEST_CASE("host_scheduler: the error back-off is capped", "[crawler][scheduler][politeness]") {
  HostScheduler scheduler(1, 0);
  for (int i = 0; i < 40; ++i) scheduler.add("a", make_task(i));
  std::int64_t now = 0;
  for (int i = 0; i < 30; ++i) {
    REQUIRE(take(scheduler, now).first == "a");
    scheduler.finished("a", 0, true, now);
    now = scheduler.next_ready_ms();
  }
  REQUIRE(take(scheduler, now).first == "a");
  scheduler.finished("a", 0, true, now);
  CHECK(scheduler.next_ready_ms() - now == HostScheduler::kBackoffMaxMs);
}

TEST_CASE("host_scheduler: add_front goes ahead of the host's queue, ready_at_ms tells its wait",
          "[crawler][scheduler]") {
  HostScheduler scheduler(1, 1000);
  CHECK(scheduler.ready_at_ms("a") == 0);  // unknown host: no wait
  scheduler.add("a", make_task(1));
  scheduler.add("a", make_task(2));
  scheduler.add_front("a", make_task(3));
  CHECK(scheduler.queued() == 3);
  CHECK(take(scheduler, 0) == std::make_pair(std::string("a"), std::int64_t{3}));
  CHECK(scheduler.ready_at_ms("a") == 1000);  // the delay from that start
  scheduler.finished("a", 0, /*trouble=*/false, 10);
  CHECK(take(scheduler, 999).second == -1);
  CHECK(take(scheduler, 1000) == std::make_pair(std::string("a"), std::int64_t{1}));
  scheduler.add_front("b", make_task(4));  // a new host
  CHECK(take(scheduler, 1000) == std::make_pair(std::string("b"), std::int64_t{4}));

  HostScheduler no_delay(2, 0);
  no_delay.add("c", make_task(5));
  REQUIRE(take(no_delay, 0).second == 5);
  CHECK(no_delay.ready_at_ms("c") == 0);
  no_delay.finished("c", 0, /*trouble=*/true, 100);  // the error back-off, from 100
  CHECK(no_delay.ready_at_ms("c") == 100 + HostScheduler::kBackoffBaseMs);
}
