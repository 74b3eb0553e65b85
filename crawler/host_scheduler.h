#pragma once
// HostScheduler: the coordinator's in-memory window of tasks, grouped by host, handing out
// only tasks whose host may take another request now:
//   - fewer than per_host requests in flight to it (one, if it has a delay), and
//   - at least its delay since the last request to it started: --delay, or the host's
//     robots.txt Crawl-delay if longer (set_delay), and
//   - past any back-off: Retry-After, and an error back-off that doubles with each
//     consecutive failed request to the host (timeouts, refused connections, 429, 5xx).
// A host that must wait never blocks other hosts' tasks. Within a host, tasks go out in the
// order they were added (the frontier's discovery order).
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

  // When the earliest waiting host becomes ready, or -1 if none waits on time alone.
  std::int64_t next_ready_ms() const;
  std::size_t queued() const { return queued_; }

 private:
  struct Host {
    std::deque<Task> tasks;
    int in_flight = 0;
    std::int64_t next_start_ms = 0;
    bool listed = false;         // in ready_, under key {listed_key, name}
    std::int64_t listed_key = 0;
    int failures = 0;            // consecutive requests with trouble
  };
  void enqueue(const std::string& host, Task task, bool front);
  void relist(const std::string& name, Host& host);
  // One request fewer in flight: relists the host, or forgets it if it is idle.
  void free_slot(std::unordered_map<std::string, Host>::iterator it);

  int per_host_;
  std::int64_t delay_ms_;
  std::unordered_map<std::string, Host> hosts_;
  std::unordered_map<std::string, std::int64_t> host_delay_ms_;  // only hosts above delay_ms_
  // Hosts with tasks and a free slot, by the time they may start the next one.
  std::set<std::pair<std::int64_t, std::string>> ready_;
  std::size_t queued_ = 0;
  std::int64_t now_ms_ = 0;  // the latest time seen by next()
};

}  // namespace crawler
