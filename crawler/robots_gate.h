#pragma once
// RobotsGate: the coordinator's robots.txt state per origin (RFC 9309). Every task passes
// the gate before the host scheduler sees it:
//   - an origin whose robots.txt is known: the task is ready, or refused (never fetched);
//   - an origin seen for the first time: the gate looks in the robots store (a resumed crawl
//     reuses what an earlier run fetched), else asks for a /robots.txt fetch and holds the
//     origin's tasks until that fetch is stored (`stored`).
// Access per RFC 9309 2.3.1: 2xx -> the file's rules; 4xx (and more than 5 redirects) -> no
// restrictions; 5xx, 429 or unreachable -> everything disallowed. The fetcher retries an
// unreachable robots.txt with back-off (--max-attempts); when that runs out the origin stays
// disallowed for max_age_s, or until a later run fetches it again.
// Rules are used for at most max_age_s after their fetch (RFC 9309 2.4: 24 hours), in this run
// or from an earlier one: past that, the next task of the origin to pass the gate waits for a
// new fetch (tasks that passed before are fetched under the rules they passed). If the new
// fetch finds robots.txt unreachable, the store keeps the earlier rules with the new date
// (storage::write_robots, as 2.4 allows), so they stay in use for another max_age_s. A
// Crawl-delay that the new robots.txt drops is reported as 0.
//
// Not thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crawler/messages.h"
#include "parser/robots.h"
#include "storage/robots_store.h"

namespace crawler {

struct RobotsGateOptions {
  std::string agent_token;            // the product token groups are matched against
  bool ignore = false;                // --ignore-robots: every task is ready at once
  std::int64_t max_crawl_delay_ms = 30 * 1000;
  // Origins whose rules stay in memory; past this, decided origins with nothing held are
  // dropped (the next task of one reads its robots.txt back from the store).
  std::size_t max_origins = 10000;
  // How long a fetched robots.txt is used; then it is fetched again.
  double max_age_s = 24 * 3600;
  // The time now, in Unix seconds (tests set a clock of their own); empty: the real clock.
  std::function<double()> now_s;
};

class RobotsGate {
 public:
  struct Output {
    std::vector<Task> ready;                            // may be fetched
    std::vector<std::pair<Task, std::string>> refused;  // must not be: why, for error_detail
    std::vector<Task> robots_fetches;                   // /robots.txt fetches to schedule
    // Hosts whose robots.txt asks for a Crawl-delay (capped), in milliseconds.
    std::vector<std::pair<std::string, std::int64_t>> crawl_delays;
  };

  RobotsGate(RobotsGateOptions options, storage::RobotsStore* store);

  void admit(Task task, Output& out);
  // The robots.txt fetch of `origin` has been stored: decide the tasks held for it.
  void stored(const std::string& origin, Output& out);

  std::size_t held() const { return held_; }  // tasks waiting for a robots.txt
  std::size_t origins() const { return origins_.size(); }

 private:
  struct Origin {
    bool known = false;
    // known was true, and the rules (kept meanwhile) are being fetched again: too old.
    bool refreshing = false;
    double fetched_at_s = 0;  // of the rules in use
    parser::RobotsRules rules;
    std::string refusal;  // when everything is disallowed: why ("robots.txt unreachable: ...")
    std::vector<Task> held;
  };
  bool too_old(double fetched_at_s) const;
  void learn(Origin& origin, const storage::RobotsRecord& record);
  void decide(const Origin& origin, Task task, Output& out) const;
  void report_crawl_delay(const std::string& name, const Origin& origin, Output& out) const;
  void request_fetch(const std::string& origin, Output& out);
  void forget_idle_origins();

  RobotsGateOptions options_;
  storage::RobotsStore* store_;
  std::unordered_map<std::string, Origin> origins_;
  std::size_t held_ = 0;
  std::int64_t next_robots_seq_ = -1;  // robots.txt tasks count down; frontier seqs are > 0
};

// The seq range of robots.txt tasks (see Task::seq).
inline bool is_robots_seq(std::int64_t seq) { return seq < 0; }

}  // namespace crawler
