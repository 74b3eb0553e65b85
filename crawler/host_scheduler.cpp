#include "crawler/host_scheduler.h"

#include <algorithm>

namespace crawler {

void HostScheduler::unlist(const std::string& name, Host& host) {
  if (host.listed == Listed::kWaiting) waiting_.erase({host.listed_key, name});
  if (host.listed == Listed::kDue) {
    due_.erase({host.listed_key, name});
    due_starts_.erase(due_starts_.find(host.listed_start));
  }
  host.listed = Listed::kNo;
}

void HostScheduler::relist(const std::string& name, Host& host) {
  unlist(name, host);
  // A host with a delay gets one request at a time: the next start is then known exactly,
  // from when the previous request was really sent (sent()), not only from when a fetcher
  // took it, so the server never sees two requests closer than the delay.
  const int limit = delay_of(name) > 0 ? 1 : per_host_;
  if (host.tasks.empty() || host.in_flight >= limit) return;
  host.listed_start = host.next_start_ms;
  if (host.next_start_ms <= now_ms_) {
    host.listed = Listed::kDue;
    host.listed_key = host.tasks.front().seq;
    due_.emplace(host.listed_key, name);
    due_starts_.insert(host.next_start_ms);
  } else {
    host.listed = Listed::kWaiting;
    host.listed_key = host.next_start_ms;
    waiting_.emplace(host.listed_key, name);
  }
}

void HostScheduler::add(const std::string& host, Task task) {
  enqueue(host, std::move(task), false);
}

void HostScheduler::add_front(const std::string& host, Task task) {
  enqueue(host, std::move(task), true);
}

void HostScheduler::enqueue(const std::string& host, Task task, bool front) {
  Host& h = hosts_[host];
  if (front) {
    h.tasks.push_front(std::move(task));
  } else {
    h.tasks.push_back(std::move(task));
  }
  ++queued_;
  // A new head changes the host's place among the due hosts.
  if (h.listed == Listed::kNo || front) relist(host, h);
}

std::int64_t HostScheduler::ready_at_ms(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.next_start_ms;
}

std::optional<std::pair<std::string, Task>> HostScheduler::next(std::int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  // Hosts whose time has come join the due ones (relist files them by their oldest task).
  while (!waiting_.empty() && waiting_.begin()->first <= now_ms_) {
    const std::string name = waiting_.begin()->second;
    relist(name, hosts_[name]);
  }
  auto due = due_.begin();
  // Due by the latest time seen; a caller whose clock is behind gets the oldest task of a host
  // due by its own clock, never one released early.
  while (due != due_.end() && hosts_[due->second].next_start_ms > now_ms) ++due;
  if (due == due_.end()) return std::nullopt;
  std::string name = due->second;
  Host& h = hosts_[name];
  unlist(name, h);
  Task task = std::move(h.tasks.front());
  h.tasks.pop_front();
  --queued_;
  ++h.in_flight;
  // Until the fetcher reports the real start, assume it starts now.
  h.next_start_ms = std::max(h.next_start_ms, now_ms + delay_of(name));
  relist(name, h);
  return std::make_pair(std::move(name), std::move(task));
}

void HostScheduler::started(const std::string& host, std::int64_t started_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Host& h = it->second;
  const std::int64_t delay = delay_of(host);
  if (started_ms + delay > h.next_start_ms) {
    h.next_start_ms = started_ms + delay;
    if (h.listed != Listed::kNo) relist(host, h);
  }
}

void HostScheduler::set_delay(const std::string& host, std::int64_t delay_ms,
                              std::int64_t last_start_ms) {
  if (delay_ms <= delay_ms_) {
    host_delay_ms_.erase(host);
    return;
  }
  host_delay_ms_[host] = delay_ms;
  Host& h = hosts_[host];
  h.next_start_ms = std::max(h.next_start_ms, last_start_ms + delay_ms);
  relist(host, h);
}

std::int64_t HostScheduler::delay_of(const std::string& host) const {
  auto it = host_delay_ms_.find(host);
  return it == host_delay_ms_.end() ? delay_ms_ : it->second;
}

void HostScheduler::finished(const std::string& host, std::int64_t not_before_ms, bool trouble,
                             std::int64_t now_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Host& h = it->second;
  h.next_start_ms = std::max(h.next_start_ms, not_before_ms);
  if (trouble) {
    const int shift = std::min(h.failures, 16);
    ++h.failures;
    h.next_start_ms =
        std::max(h.next_start_ms, now_ms + std::min(kBackoffBaseMs << shift, kBackoffMaxMs));
  } else {
    h.failures = 0;
  }
  free_slot(it);
}

void HostScheduler::abandoned(const std::string& host) {
  auto it = hosts_.find(host);
  if (it != hosts_.end()) free_slot(it);
}

void HostScheduler::free_slot(std::unordered_map<std::string, Host>::iterator it) {
  Host& h = it->second;
  if (h.in_flight > 0) --h.in_flight;
  relist(it->first, h);
  // An idle host whose delay has run out needs no memory.
  if (h.tasks.empty() && h.in_flight == 0 && h.failures == 0 && h.next_start_ms <= now_ms_) {
    hosts_.erase(it);
  }
}

std::int64_t HostScheduler::next_ready_ms() const {
  // waiting_ holds only times after every due host's.
  if (!due_starts_.empty()) return *due_starts_.begin();
  return waiting_.empty() ? -1 : waiting_.begin()->first;
}

}  // namespace crawler
