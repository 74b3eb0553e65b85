#pragma once
// BatchPolicy: when the parser process commits its batch of results (group commit).
//
// A batch commits as soon as no result is waiting (an idle parser adds no latency). While
// results keep coming it grows, because one large transaction writes each B-tree page that
// many links touch once instead of once per small commit (docs/PERFORMANCE.md, scenario 3),
// up to the first of: max_pages, max_bytes, max_wait_ms since its first page, or as many
// pages as the last commits suggest can be written within commit_budget_ms. The last bound
// keeps one commit, during which the parser sends the coordinator nothing, well inside the
// coordinator's watchdog, so a healthy parser is never killed for a slow commit.

#include <cstddef>
#include <cstdint>

namespace crawler {

struct BatchLimits {
  std::size_t max_pages = 4096;
  std::size_t max_bytes = 16u << 20;  // about the memory the batch's strings hold
  std::int64_t max_wait_ms = 5000;
  std::int64_t commit_budget_ms = 15000;
  std::size_t first_pages = 256;  // the page limit before any commit was timed
};

// The limits for a parser under a coordinator watchdog of `watchdog_s`: a commit should take
// at most a quarter of it, and at most 15 s (the default --watchdog, 60 s, gives 15 s: on a
// large crawl the byte limit then usually ends a batch first); a batch waits at most as long
// (max_wait_ms, 5 s unless the watchdog is under 20 s), so a busy parser commits, and is
// heard from, at least every half watchdog.
BatchLimits batch_limits_for_watchdog(double watchdog_s);

// The coordinator's watchdog on a parser with results waiting for it (check_watchdog). The
// parser is heard from when it commits (Committed, at `committed_ms`) and while its writer
// works inside SQLite (the heartbeat in ParseSlots, at `writer_alive_ms`; 0: none yet).
//   kSilent: results have waited `watchdog_s` and neither was heard for as long: hung.
//   kCommitTooLong: results have waited and nothing was committed for kCommitCeiling times
//     `watchdog_s`, though the writer beats: a commit that does not end (a runaway
//     statement, a disk that no longer answers), killed all the same.
// `oldest_result_ms`: when the oldest result not yet committed was fetched; -1: none waits.
enum class ParserVerdict { kAlive, kSilent, kCommitTooLong };
inline constexpr int kCommitCeiling = 10;
ParserVerdict judge_parser(std::int64_t now_ms, std::int64_t oldest_result_ms,
                           std::int64_t committed_ms, std::int64_t writer_alive_ms,
                           double watchdog_s);

class BatchPolicy {
 public:
  explicit BatchPolicy(BatchLimits limits = {});

  // Whether a batch of `pages` pages holding `bytes`, whose first page came at
  // `started_ms`, must commit now even though results are still waiting.
  bool due(std::size_t pages, std::size_t bytes, std::int64_t started_ms,
           std::int64_t now_ms) const;

  // Whether the batch has reached its size limits (pages or bytes), the ones that bound its
  // memory: a batch that is due only by age may wait for the writer, a full one may not grow.
  bool full(std::size_t pages, std::size_t bytes) const;

  // After a commit of `pages` pages that took `elapsed_ms`: adapts the page limit so that
  // the next commit is expected to take about commit_budget_ms, at most doubling it at once.
  void committed(std::size_t pages, std::int64_t elapsed_ms);

  std::size_t page_limit() const { return page_limit_; }

 private:
  BatchLimits limits_;
  std::size_t min_page_limit_;  // kMinPageLimit, or max_pages if smaller
  std::size_t page_limit_;
};

}  // namespace crawler
