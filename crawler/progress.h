#pragma once
// Progress of a running crawl on stderr.
//
// On a terminal: one status line rewritten in place ("\r" + clear to end of line) at most
// every kTerminalIntervalMs; log lines (Ctrl-C notices, --verbose fetches) clear it first and
// it is redrawn on the next update. Elsewhere (a pipe, a file, CI logs): a plain line every
// `interval_ms`. Figures: pages stored this run, recent pages/s (over the last few seconds),
// queued, in flight, errors, elapsed, and an ETA when the crawl has a page limit.
//
// Time is passed in (monotonic milliseconds), so tests run on fake time. Not thread-safe.

#include <cstdint>
#include <deque>
#include <ostream>
#include <string>
#include <utility>

namespace crawler {

struct ProgressSample {
  std::int64_t pages = 0;      // stored this run
  std::int64_t errors = 0;     // of which without an HTTP response
  std::int64_t queued = 0;     // URLs waiting (frontier)
  std::int64_t in_flight = 0;
  std::int64_t remaining = -1;  // pages left before --max-pages; -1 = no limit
};

class ProgressReporter {
 public:
  static constexpr std::int64_t kTerminalIntervalMs = 250;
  static constexpr std::int64_t kRateWindowMs = 5000;

  // interval_ms <= 0 disables periodic lines (log lines still print).
  ProgressReporter(std::ostream& out, bool terminal, std::int64_t interval_ms,
                   std::int64_t start_ms);

  // Prints a status line if one is due at now_ms.
  void update(const ProgressSample& sample, std::int64_t now_ms);
  // Prints a line of its own (clearing the status line on a terminal).
  void log(const std::string& line);
  // Clears the status line (on a terminal) so a summary can follow.
  void finish();

  // The status text for `sample` at now_ms (no "\r", no newline). Exposed for tests.
  std::string format(const ProgressSample& sample, std::int64_t now_ms);
  // Pages per second over the last kRateWindowMs (or since the start, if shorter).
  double recent_rate(std::int64_t now_ms) const;

 private:
  void remember(std::int64_t pages, std::int64_t now_ms);

  std::ostream& out_;
  bool terminal_;
  std::int64_t interval_ms_;
  std::int64_t start_ms_;
  std::int64_t last_print_ms_;
  bool line_shown_ = false;  // a status line is on screen (terminal)
  std::deque<std::pair<std::int64_t, std::int64_t>> history_;  // (ms, pages), oldest first
};

// "1h02m", "3m07s", "12s".
std::string format_duration(double seconds);

}  // namespace crawler
