// Tests crawler/batch_policy.h: when the parser commits a batch that keeps growing.

#include "crawler/batch_policy.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>

namespace {

using crawler::BatchLimits;
using crawler::BatchPolicy;

BatchLimits limits(std::size_t max_pages, std::size_t max_bytes, std::int64_t max_wait_ms,
                   std::int64_t budget_ms, std::size_t first_pages) {
  BatchLimits l;
  l.max_pages = max_pages;
  l.max_bytes = max_bytes;
  l.max_wait_ms = max_wait_ms;
  l.commit_budget_ms = budget_ms;
  l.first_pages = first_pages;
  return l;
}

}  // namespace

TEST_CASE("batch_policy: a batch is due at the first limit it reaches", "[crawler][batch]") {
  const BatchPolicy policy(limits(4096, 1000, 5000, 5000, 100));
  struct Row {
    std::size_t pages, bytes;
    std::int64_t age_ms;
    bool due, full;  // full: a size limit, which bounds memory (the age does not)
  };
  const Row rows[] = {
      {0, 5000, 9000, false, false},  // nothing to commit, whatever the clock says
      {1, 0, 0, false, false},       {99, 999, 4999, false, false},
      {100, 0, 0, true, true},    // the page limit (first_pages before any commit was timed)
      {1, 1000, 0, true, true},   // the byte limit
      {1, 0, 5000, true, false},  // the oldest page waited max_wait_ms: due, not full
  };
  for (const auto& row : rows) {
    CAPTURE(row.pages, row.bytes, row.age_ms);
    CHECK(policy.due(row.pages, row.bytes, 1000, 1000 + row.age_ms) == row.due);
    CHECK(policy.full(row.pages, row.bytes) == row.full);
  }
}

TEST_CASE("batch_policy: the page limit follows the commit time, within its bounds",
          "[crawler][batch]") {
  BatchPolicy policy(limits(4096, 1u << 30, 5000, 1000, 256));
  REQUIRE(policy.page_limit() == 256);

  // Fast commits: the limit at most doubles per commit, up to max_pages.
  policy.committed(256, 10);  // 0.04 ms a page: 1000 ms would fit 25,600 pages
  CHECK(policy.page_limit() == 512);
  policy.committed(512, 20);
  CHECK(policy.page_limit() == 1024);
  for (int i = 0; i < 5; ++i) policy.committed(policy.page_limit(), 1);
  CHECK(policy.page_limit() == 4096);

  // Slow commits (a database past its cache): 10 ms a page, so 100 pages fit the budget.
  policy.committed(4096, 40960);
  CHECK(policy.page_limit() == 100);
  CHECK(policy.due(100, 0, 0, 1));

  // Pathologically slow: never below the floor of 16 pages.
  policy.committed(100, 1000000);
  CHECK(policy.page_limit() == 16);

  // An empty commit (only Committed messages) teaches nothing.
  policy.committed(0, 5000);
  CHECK(policy.page_limit() == 16);
}

TEST_CASE("batch_policy: a short watchdog gets a short commit budget", "[crawler][batch]") {
  struct Row {
    double watchdog_s;
    std::int64_t budget_ms;
    std::int64_t max_wait_ms;
  };
  // A quarter of the watchdog, at most 15 s, at least 1 ms; a batch waits at most 5 s and at
  // most the budget, so a never-idle parser commits within half the watchdog.
  for (const Row row : {Row{600, 15000, 5000}, Row{60, 15000, 5000}, Row{20, 5000, 5000},
                        Row{8, 2000, 2000}, Row{1, 250, 250}, Row{0, 1, 1}}) {
    CAPTURE(row.watchdog_s);
    const BatchLimits l = crawler::batch_limits_for_watchdog(row.watchdog_s);
    CHECK(l.commit_budget_ms == row.budget_ms);
    CHECK(l.max_wait_ms == row.max_wait_ms);
    CHECK(l.max_wait_ms + l.commit_budget_ms <=
          std::max<std::int64_t>(2, static_cast<std::int64_t>(row.watchdog_s * 500)));
  }
  // With a 1 s watchdog and 10 ms a page, a commit holds at most 25 pages (about 250 ms).
  BatchPolicy policy(crawler::batch_limits_for_watchdog(1));
  policy.committed(256, 2560);
  CHECK(policy.page_limit() == 25);
}

TEST_CASE("batch_policy: the watchdog's verdict on a parser with results waiting",
          "[crawler][batch]") {
  using crawler::ParserVerdict;
  struct Row {
    const char* what;
    std::int64_t oldest_result_ms, committed_ms, writer_alive_ms;
    ParserVerdict verdict;
  };
  // --watchdog 60 (60,000 ms), now = 1,000,000; the ceiling is 10 x 60 s.
  constexpr std::int64_t now = 1'000'000;
  for (const Row row : {
           Row{"no result waits", -1, 0, 0, ParserVerdict::kAlive},
           Row{"results have waited less than the watchdog", now - 59'999, 0, 0,
               ParserVerdict::kAlive},
           Row{"a commit within the watchdog", now - 60'000, now - 59'999, 0,
               ParserVerdict::kAlive},
           Row{"silent for the watchdog, no heartbeat ever", now - 60'000, now - 60'000, 0,
               ParserVerdict::kSilent},
           Row{"silent: the heartbeat stopped too", now - 70'000, now - 70'000, now - 60'000,
               ParserVerdict::kSilent},
           Row{"a long commit, the writer beating", now - 70'000, now - 70'000, now - 100,
               ParserVerdict::kAlive},
           Row{"beating, just under the ceiling", now - 600'000, now - 599'999, now,
               ParserVerdict::kAlive},
           Row{"beating, at the ceiling", now - 600'000, now - 600'000, now,
               ParserVerdict::kCommitTooLong},
           Row{"a heartbeat older than the last commit does not count", now - 60'000, now - 60'000,
               now - 90'000, ParserVerdict::kSilent},
       }) {
    CAPTURE(row.what);
    CHECK(crawler::judge_parser(now, row.oldest_result_ms, row.committed_ms, row.writer_alive_ms,
                                60) == row.verdict);
  }
}
