#pragma once
// HostScheduler: the coordinator's in-memory window of tasks, grouped by host, handing out
// only tasks whose host may take another request now:
//   - fewer than per_host requests in flight to it (one, if it has a delay), and
//   - at least its delay since the last request to it started: --delay, or the host's
//     robots.txt Crawl-delay if longer (set_delay), and
//   - past any back-off: Retry-After, and an error back-off that doubles with each
//     consecutive failed request to the host (timeouts, refused connections, 429, 5xx).
// A host that must wait never blocks other hosts' tasks. Within a host, tasks go out in the
// order they were added (the frontier's discovery order); across the hosts that may start one
// now, the host whose next task has the smallest seq goes first (robots.txt fetches, whose
// seqs are negative, before pages). So the
// crawl follows discovery order as far as politeness allows, and the pages stored together
// have nearby ids: a host that was handed more of the window than the others catches up
// instead of holding ever older tasks (serving hosts in turn let that lag grow like a random
// walk, and every commit then wrote leaves all over the url_id-keyed tables:
// docs/PERFORMANCE.md, "Fetch order").
//
// Time is passed in (milliseconds on one monotonic clock), so tests run on fake time.
// Not thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "crawler/messages.h"

namespace crawler {

class HostScheduler {
 public:
  HostScheduler(int per_host, std::int64_t delay_ms) : per_host_(per_host), delay_ms_(delay_ms) {}

  void add(const std::string& host, Task task);
  // Ahead of the host's other tasks: the next one it hands out.
  void add_front(const std::string& host, Task task);
  // When the host may start its next request, as far as delays and back-off say (0 for a host
  // it does not know); a free slot is not checked.
  std::int64_t ready_at_ms(const std::string& host) const;
  // The next task that may start at now_ms, or nullopt. Counts it as in flight.
  std::optional<std::pair<std::string, Task>> next(std::int64_t now_ms);
  // A fetcher reported the request started at started_ms (when it took the task, then again
  // when the request was sent): the host's delay runs from the latest such time.
  void started(const std::string& host, std::int64_t started_ms);
  // The request ended; `not_before_ms` (e.g. from Retry-After) pushes the host's next start.
  // `trouble` (the host failed the request) adds the error back-off from now_ms:
  // kBackoffBaseMs x 2^(consecutive failures - 1), at most kBackoffMaxMs; a request without
  // trouble resets the count.
  void finished(const std::string& host, std::int64_t not_before_ms = 0, bool trouble = false,
                std::int64_t now_ms = 0);
  // The request has no outcome (its worker died, or its task was taken back from the queue):
  // frees its slot and leaves the host's error back-off as it was, neither grown nor reset.
  void abandoned(const std::string& host);
  // The host's own minimum time between request starts (robots.txt Crawl-delay), used when
  // longer than the scheduler's delay; the next start is at least last_start_ms + delay_ms.
  void set_delay(const std::string& host, std::int64_t delay_ms, std::int64_t last_start_ms);
  std::int64_t delay_of(const std::string& host) const;

  static constexpr std::int64_t kBackoffBaseMs = 500;
  static constexpr std::int64_t kBackoffMaxMs = 60 * 1000;

  // When the earliest host with tasks and a free slot may start (a time already past if one
  // is due), or -1 if none waits on time alone.
  std::int64_t next_ready_ms() const;
  std::size_t queued() const { return queued_; }

 private:
  // Where a host with tasks and a free slot is listed: waiting_ until its next start time has
  // come, then due_.
  enum class Listed { kNo, kWaiting, kDue };
  struct Host {
    std::deque<Task> tasks;
    int in_flight = 0;
    std::int64_t next_start_ms = 0;
    Listed listed = Listed::kNo;    // and under key {listed_key, name}
    std::int64_t listed_key = 0;    // waiting_: next_start_ms; due_: the head task's seq
    std::int64_t listed_start = 0;  // next_start_ms when listed (in due_starts_ if due)
    int failures = 0;               // consecutive requests with trouble
  };
  void enqueue(const std::string& host, Task task, bool front);
  void unlist(const std::string& name, Host& host);
  void relist(const std::string& name, Host& host);
  // One request fewer in flight: relists the host, or forgets it if it is idle.
  void free_slot(std::unordered_map<std::string, Host>::iterator it);

  int per_host_;
  std::int64_t delay_ms_;
  std::unordered_map<std::string, Host> hosts_;
  std::unordered_map<std::string, std::int64_t> host_delay_ms_;  // only hosts above delay_ms_
  // Hosts with tasks and a free slot: those whose next start is later than now_ms_, by that
  // time; the others, by the seq of their oldest task.
  std::set<std::pair<std::int64_t, std::string>> waiting_;
  std::set<std::pair<std::int64_t, std::string>> due_;
  std::multiset<std::int64_t> due_starts_;  // the due hosts' start times, for next_ready_ms
  std::size_t queued_ = 0;
  std::int64_t now_ms_ = 0;  // the latest time seen by next()
};

}  // namespace crawler
