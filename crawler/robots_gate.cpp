#include "crawler/robots_gate.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <utility>

#include "common/hash.h"
#include "crawler/ipc.h"
#include "crawler/scope.h"

namespace crawler {

namespace {

// The path and query of a normalized URL spec: "http://h:1/a?b#c" -> "/a?b".
std::string_view path_and_query_of(std::string_view spec) {
  auto scheme_end = spec.find("://");
  if (scheme_end == std::string_view::npos) return "/";
  auto start = spec.find_first_of("/?#", scheme_end + 3);
  if (start == std::string_view::npos) return "/";
  std::string_view rest = spec.substr(start);
  return rest.substr(0, rest.find('#'));
}

std::string describe_unreachable(const storage::RobotsRecord& record) {
  std::string why = record.status > 0 ? "HTTP " + std::to_string(record.status)
                                      : record.error + (record.error_detail.empty()
                                                            ? ""
                                                            : ": " + record.error_detail);
  return "robots.txt unreachable (" + why + ", " + std::to_string(record.attempts) +
         (record.attempts == 1 ? " attempt" : " attempts") + "): the origin is disallowed";
}

}  // namespace

RobotsGate::RobotsGate(RobotsGateOptions options, storage::RobotsStore* store)
    : options_(std::move(options)), store_(store) {
  if (!options_.now_s) options_.now_s = unix_time_s;
}

bool RobotsGate::too_old(double fetched_at_s) const {
  return options_.now_s() - fetched_at_s > options_.max_age_s;
}

void RobotsGate::admit(Task task, Output& out) {
  if (options_.ignore || task.kind == TaskKind::Robots) {
    out.ready.push_back(std::move(task));
    return;
  }
  const std::string name = origin_of(task.url);
  if (origins_.size() >= options_.max_origins && origins_.find(name) == origins_.end()) {
    forget_idle_origins();
  }
  auto [it, inserted] = origins_.try_emplace(name);
  Origin& origin = it->second;
  if (inserted) {
    auto record = store_->load(name);
    if (!record) {
      std::cerr << "crawl: reading robots.txt of " << name << " from the database: "
                << record.error().context << '\n';
    }
    // An unreachable robots.txt from an earlier run is fetched again: that state is temporary.
    // So is one fetched more than max_age_s ago.
    if (record && *record && (*record)->access != storage::RobotsAccess::DisallowAll &&
        !too_old((*record)->fetched_at_s)) {
      learn(origin, **record);
      report_crawl_delay(name, origin, out);
    } else {
      request_fetch(name, out);
    }
  } else if (origin.known && too_old(origin.fetched_at_s)) {
    // The rules in use got too old during this run: hold the origin's tasks for a new fetch.
    origin.known = false;
    origin.refreshing = true;
    request_fetch(name, out);
  }
  if (!origin.known) {
    origin.held.push_back(std::move(task));
    ++held_;
    return;
  }
  decide(origin, std::move(task), out);
}

void RobotsGate::stored(const std::string& name, Output& out) {
  auto it = origins_.find(name);
  if (it == origins_.end()) return;
  Origin& origin = it->second;
  const bool refreshed = std::exchange(origin.refreshing, false);
  const bool had_crawl_delay = refreshed && origin.rules.crawl_delay_s().has_value();
  auto record = store_->load(name);
  if (record && *record) {
    // After a failed refresh the store has kept the earlier rules (write_robots).
    learn(origin, **record);
  } else {
    // Lost between the parser's commit and here. In a refresh, keep the rules in use for
    // another max_age_s; else treat it as unreachable rather than guess.
    if (!refreshed) {
      origin.rules = parser::RobotsRules::disallow_all();
      origin.refusal = "robots.txt could not be read back from the database";
    }
    origin.known = true;
    origin.fetched_at_s = options_.now_s();
  }
  report_crawl_delay(name, origin, out);
  if (had_crawl_delay && !origin.rules.crawl_delay_s()) {
    out.crawl_delays.emplace_back(std::string(host_of(name)), 0);  // the delay was dropped
  }
  std::vector<Task> held = std::move(origin.held);
  origin.held.clear();
  held_ -= held.size();
  for (auto& task : held) decide(origin, std::move(task), out);
}

void RobotsGate::learn(Origin& origin, const storage::RobotsRecord& record) {
  origin.known = true;
  origin.fetched_at_s = record.fetched_at_s;
  origin.refusal.clear();
  switch (record.access) {
    case storage::RobotsAccess::Rules:
      origin.rules = parser::RobotsRules::parse(record.body, options_.agent_token);
      break;
    case storage::RobotsAccess::AllowAll:
      origin.rules = parser::RobotsRules();
      break;
    case storage::RobotsAccess::DisallowAll:
      origin.rules = parser::RobotsRules::disallow_all();
      origin.refusal = describe_unreachable(record);
      break;
  }
}

// The origin's Crawl-delay, capped by --max-crawl-delay, for its host's scheduler entry.
void RobotsGate::report_crawl_delay(const std::string& name, const Origin& origin,
                                    Output& out) const {
  const auto delay = origin.rules.crawl_delay_s();
  if (!delay) return;
  out.crawl_delays.emplace_back(
      std::string(host_of(name)),
      std::min(options_.max_crawl_delay_ms, static_cast<std::int64_t>(*delay * 1000.0)));
}

void RobotsGate::decide(const Origin& origin, Task task, Output& out) const {
  const auto verdict = origin.rules.check(path_and_query_of(task.url));
  if (verdict.allowed) {
    out.ready.push_back(std::move(task));
    return;
  }
  std::string why = origin.refusal;
  if (why.empty()) {
    why = "disallowed by robots.txt";
    if (verdict.rule != nullptr) {
      why += " line " + std::to_string(verdict.rule->line) + ": " +
             (verdict.rule->allow ? "Allow: " : "Disallow: ") + verdict.rule->pattern;
    }
  }
  out.refused.emplace_back(std::move(task), std::move(why));
}

// Drops every decided origin with no task held, so memory stays bounded by max_origins plus
// the origins still waiting for their robots.txt (each holds tasks of the bounded window).
// An origin whose robots.txt was unreachable in this run is dropped too: seen again, it is
// fetched again, which is what RFC 9309 asks for a temporary failure anyway.
void RobotsGate::forget_idle_origins() {
  for (auto it = origins_.begin(); it != origins_.end();) {
    if (it->second.known && it->second.held.empty()) {
      it = origins_.erase(it);
    } else {
      ++it;
    }
  }
}

void RobotsGate::request_fetch(const std::string& origin, Output& out) {
  Task task;
  task.seq = next_robots_seq_--;
  task.url = origin + "/robots.txt";
  task.url_id = common::url_id(task.url);
  task.kind = TaskKind::Robots;
  out.robots_fetches.push_back(std::move(task));
}

}  // namespace crawler
