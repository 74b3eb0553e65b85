#pragma once
// HostScheduler: the coordinator's in-memory window of tasks, grouped by host, handing out
// only tasks whose host may take another request now:
//   - fewer than per_host requests in flight to it, and
//   - at least delay_ms since the last request to it started (and past any back-off).
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
  // The next task that may start at now_ms, or nullopt. Counts it as in flight.
  std::optional<std::pair<std::string, Task>> next(std::int64_t now_ms);
  // A fetcher reported the request started at started_ms: the host's delay runs from there.
  void started(const std::string& host, std::int64_t started_ms);
  // The request ended; `not_before_ms` (e.g. from Retry-After) pushes the host's next start.
  void finished(const std::string& host, std::int64_t not_before_ms = 0);

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
  };
  void relist(const std::string& name, Host& host);

  int per_host_;
  std::int64_t delay_ms_;
  std::unordered_map<std::string, Host> hosts_;
  // Hosts with tasks and a free slot, by the time they may start the next one.
  std::set<std::pair<std::int64_t, std::string>> ready_;
  std::size_t queued_ = 0;
  std::int64_t now_ms_ = 0;  // the latest time seen by next()
};

}  // namespace crawler
