#include "crawler/host_scheduler.h"

#include <algorithm>

namespace crawler {

void HostScheduler::relist(const std::string& name, Host& host) {
  if (host.listed) {
    ready_.erase({host.listed_key, name});
    host.listed = false;
  }
  if (!host.tasks.empty() && host.in_flight < per_host_) {
    ready_.emplace(host.next_start_ms, name);
    host.listed_key = host.next_start_ms;
    host.listed = true;
  }
}

void HostScheduler::add(const std::string& host, Task task) {
  Host& h = hosts_[host];
  h.tasks.push_back(std::move(task));
  ++queued_;
  if (!h.listed) relist(host, h);
}

std::optional<std::pair<std::string, Task>> HostScheduler::next(std::int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (ready_.empty() || ready_.begin()->first > now_ms) return std::nullopt;
  std::string name = ready_.begin()->second;
  ready_.erase(ready_.begin());
  Host& h = hosts_[name];
  h.listed = false;
  Task task = std::move(h.tasks.front());
  h.tasks.pop_front();
  --queued_;
  ++h.in_flight;
  // Until the fetcher reports the real start, assume it starts now.
  h.next_start_ms = std::max(h.next_start_ms, now_ms + delay_ms_);
  relist(name, h);
  return std::make_pair(std::move(name), std::move(task));
}

void HostScheduler::started(const std::string& host, std::int64_t started_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Host& h = it->second;
  if (started_ms + delay_ms_ > h.next_start_ms) {
    h.next_start_ms = started_ms + delay_ms_;
    if (h.listed) relist(host, h);
  }
}

void HostScheduler::finished(const std::string& host, std::int64_t not_before_ms) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Host& h = it->second;
  if (h.in_flight > 0) --h.in_flight;
  h.next_start_ms = std::max(h.next_start_ms, not_before_ms);
  relist(host, h);
  // An idle host whose delay has run out needs no memory.
  if (h.tasks.empty() && h.in_flight == 0 && h.next_start_ms <= now_ms_) hosts_.erase(it);
}

std::int64_t HostScheduler::next_ready_ms() const {
  return ready_.empty() ? -1 : ready_.begin()->first;
}

}  // namespace crawler
