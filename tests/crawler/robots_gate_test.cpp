#include "crawler/robots_gate.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using crawler::RobotsGate;
using crawler::Task;
using crawler::TaskKind;
using storage::RobotsAccess;
using storage::RobotsRecord;

// The gate's clock in these tests (Unix seconds); records are put as fetched "now".
double fake_now = 1.0e9;

// An in-memory robots store: what the parser process would have written.
class FakeStore final : public storage::RobotsStore {
 public:
  common::Result<std::optional<RobotsRecord>> load(const std::string& origin) override {
    ++loads;
    auto it = records.find(origin);
    if (it == records.end()) return std::optional<RobotsRecord>();
    return std::optional<RobotsRecord>(it->second);
  }
  void put(const std::string& origin, RobotsAccess access, const std::string& body = "",
           int status = 200) {
    RobotsRecord r;
    r.origin = origin;
    r.url = origin + "/robots.txt";
    r.access = access;
    r.body = body;
    r.status = status;
    r.attempts = 3;
    r.fetched_at_s = fake_now;
    records[origin] = r;
  }
  std::map<std::string, RobotsRecord> records;
  int loads = 0;
};

Task task(std::int64_t seq, const std::string& url) {
  Task t;
  t.seq = seq;
  t.url = url;
  return t;
}

std::vector<std::int64_t> seqs(const std::vector<Task>& tasks) {
  std::vector<std::int64_t> out;
  for (const auto& t : tasks) out.push_back(t.seq);
  return out;
}

crawler::RobotsGateOptions gate_options() {
  crawler::RobotsGateOptions o;
  o.agent_token = "crawler";
  o.max_crawl_delay_ms = 5000;
  o.now_s = [] { return fake_now; };
  return o;
}

}  // namespace

TEST_CASE("robots_gate: a new origin's tasks wait for one robots.txt fetch, then are decided",
          "[crawler][robots_gate][rfc9309-2.3]") {
  FakeStore store;
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/x"), out);
  gate.admit(task(2, "http://a.test/private/y"), out);
  gate.admit(task(3, "http://user@a.test/z?q"), out);  // same origin despite the userinfo
  CHECK(out.ready.empty());
  REQUIRE(out.robots_fetches.size() == 1);
  const Task& fetch = out.robots_fetches[0];
  CHECK(fetch.kind == TaskKind::Robots);
  CHECK(fetch.url == "http://a.test/robots.txt");
  CHECK(crawler::is_robots_seq(fetch.seq));
  CHECK(gate.held() == 3);

  store.put("http://a.test", RobotsAccess::Rules,
            "User-agent: *\nDisallow: /private\nCrawl-delay: 60\n");
  RobotsGate::Output decided;
  gate.stored("http://a.test", decided);
  CHECK(gate.held() == 0);
  CHECK(seqs(decided.ready) == std::vector<std::int64_t>{1, 3});
  REQUIRE(decided.refused.size() == 1);
  CHECK(decided.refused[0].first.seq == 2);
  CHECK(decided.refused[0].second == "disallowed by robots.txt line 2: Disallow: /private");
  // Crawl-delay 60 s, capped at max_crawl_delay_ms.
  CHECK(decided.crawl_delays == std::vector<std::pair<std::string, std::int64_t>>{{"a.test", 5000}});

  // Later tasks of the origin are decided at once, without another fetch or load.
  RobotsGate::Output later;
  const int loads = store.loads;
  gate.admit(task(4, "http://a.test/private"), later);
  gate.admit(task(5, "http://a.test/ok"), later);
  CHECK(later.robots_fetches.empty());
  CHECK(seqs(later.ready) == std::vector<std::int64_t>{5});
  CHECK(later.refused.size() == 1);
  CHECK(store.loads == loads);
}

TEST_CASE("robots_gate: origins differ by scheme and port", "[crawler][robots_gate]") {
  FakeStore store;
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/"), out);
  gate.admit(task(2, "https://a.test/"), out);
  gate.admit(task(3, "http://a.test:8080/"), out);
  CHECK(out.robots_fetches.size() == 3);
  CHECK(gate.origins() == 3);
}

TEST_CASE("robots_gate: a stored robots.txt from an earlier run is reused, unless unreachable",
          "[crawler][robots_gate][rfc9309-2.3.1.4]") {
  FakeStore store;
  store.put("http://kept.test", RobotsAccess::AllowAll, "", 404);
  store.put("http://down.test", RobotsAccess::DisallowAll, "", 503);
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://kept.test/a"), out);
  gate.admit(task(2, "http://down.test/a"), out);
  CHECK(seqs(out.ready) == std::vector<std::int64_t>{1});
  REQUIRE(out.robots_fetches.size() == 1);
  CHECK(out.robots_fetches[0].url == "http://down.test/robots.txt");

  // This run's fetch fails too: the origin stays disallowed, with the reason.
  RobotsGate::Output decided;
  gate.stored("http://down.test", decided);
  REQUIRE(decided.refused.size() == 1);
  CHECK(decided.refused[0].second ==
        "robots.txt unreachable (HTTP 503, 3 attempts): the origin is disallowed");
}

TEST_CASE("robots_gate: --ignore-robots admits everything without fetching",
          "[crawler][robots_gate]") {
  FakeStore store;
  auto options = gate_options();
  options.ignore = true;
  RobotsGate gate(options, &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/private"), out);
  CHECK(seqs(out.ready) == std::vector<std::int64_t>{1});
  CHECK(out.robots_fetches.empty());
  CHECK(store.loads == 0);
}

TEST_CASE("robots_gate: robots.txt is always allowed, and robots tasks pass straight through",
          "[crawler][robots_gate][rfc9309-2.2.2]") {
  FakeStore store;
  store.put("http://a.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /\n");
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/robots.txt"), out);
  gate.admit(task(2, "http://a.test/"), out);
  Task fetch = task(-7, "http://b.test/robots.txt");
  fetch.kind = TaskKind::Robots;
  gate.admit(fetch, out);
  CHECK(seqs(out.ready) == std::vector<std::int64_t>{1, -7});
  CHECK(out.refused.size() == 1);
}

TEST_CASE("robots_gate: past max_origins, decided origins are dropped and read back when seen",
          "[crawler][robots_gate]") {
  FakeStore store;
  for (int i = 0; i < 5; ++i) {
    store.put("http://h" + std::to_string(i) + ".test", RobotsAccess::Rules,
              "User-agent: *\nDisallow: /no\n");
  }
  auto options = gate_options();
  options.max_origins = 3;
  RobotsGate gate(options, &store);
  RobotsGate::Output out;
  gate.admit(task(100, "http://waiting.test/"), out);  // not in the store: held
  for (int i = 0; i < 5; ++i) {
    gate.admit(task(i, "http://h" + std::to_string(i) + ".test/no"), out);
    CHECK(gate.origins() <= 3);
  }
  CHECK(out.refused.size() == 5);  // every origin decided correctly, dropped or not
  CHECK(gate.held() == 1);         // the waiting origin is never dropped
  const int loads = store.loads;
  gate.admit(task(10, "http://h0.test/no"), out);  // dropped earlier: read back from the store
  CHECK(store.loads == loads + 1);
  CHECK(out.refused.size() == 6);
  store.put("http://waiting.test", RobotsAccess::AllowAll, "", 404);
  RobotsGate::Output decided;
  gate.stored("http://waiting.test", decided);
  CHECK(seqs(decided.ready) == std::vector<std::int64_t>{100});
}

TEST_CASE("robots_gate: a robots.txt older than 24 hours is fetched again, from an earlier run "
          "or during this one", "[crawler][robots_gate][rfc9309-2.4]") {
  constexpr double kHour = 3600;
  FakeStore store;
  store.put("http://old.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /a\n");
  store.put("http://run.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /a\n");
  fake_now += 25 * kHour;  // the earlier run's records are now 25 hours old
  store.put("http://run.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /a\n");
  RobotsGate gate(gate_options(), &store);

  SECTION("a stored robots.txt from an earlier run") {
    RobotsGate::Output out;
    gate.admit(task(1, "http://old.test/b"), out);
    CHECK(out.ready.empty());
    REQUIRE(out.robots_fetches.size() == 1);
    CHECK(out.robots_fetches[0].url == "http://old.test/robots.txt");
    CHECK(gate.held() == 1);
    store.put("http://old.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /b\n");
    RobotsGate::Output decided;
    gate.stored("http://old.test", decided);
    REQUIRE(decided.refused.size() == 1);  // by the new rules
    CHECK(decided.refused[0].first.seq == 1);
  }

  SECTION("rules that get too old during the run") {
    RobotsGate::Output out;
    gate.admit(task(1, "http://run.test/b"), out);  // fetched just now: used
    CHECK(seqs(out.ready) == std::vector<std::int64_t>{1});
    fake_now += 24 * kHour;  // exactly 24 hours: still used
    gate.admit(task(2, "http://run.test/b"), out);
    CHECK(seqs(out.ready) == std::vector<std::int64_t>{1, 2});
    CHECK(out.robots_fetches.empty());
    fake_now += 1;
    gate.admit(task(3, "http://run.test/b"), out);
    gate.admit(task(4, "http://run.test/c"), out);
    CHECK(seqs(out.ready) == std::vector<std::int64_t>{1, 2});
    REQUIRE(out.robots_fetches.size() == 1);  // one fetch for both
    CHECK(gate.held() == 2);
    store.put("http://run.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /b\n");
    RobotsGate::Output decided;
    gate.stored("http://run.test", decided);
    CHECK(seqs(decided.ready) == std::vector<std::int64_t>{4});
    REQUIRE(decided.refused.size() == 1);
    CHECK(decided.refused[0].first.seq == 3);
    // The new rules are fresh: no fetch for a while.
    RobotsGate::Output later;
    fake_now += 23 * kHour;
    gate.admit(task(5, "http://run.test/c"), later);
    CHECK(seqs(later.ready) == std::vector<std::int64_t>{5});
    CHECK(later.robots_fetches.empty());
  }
}

TEST_CASE("robots_gate: after a refresh that the store kept the older rules for, they stay, "
          "also for an origin read back after eviction", "[crawler][robots_gate][rfc9309-2.4]") {
  constexpr double kHour = 3600;
  FakeStore store;
  store.put("http://a.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /private\n");
  auto options = gate_options();
  options.max_origins = 1;
  RobotsGate gate(options, &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/x"), out);
  CHECK(seqs(out.ready) == std::vector<std::int64_t>{1});
  fake_now += 25 * kHour;
  gate.admit(task(2, "http://a.test/x"), out);
  gate.admit(task(3, "http://a.test/private/y"), out);
  REQUIRE(out.robots_fetches.size() == 1);
  // Unreachable: storage::write_robots keeps the rules with this attempt's date.
  store.records["http://a.test"].fetched_at_s = fake_now;
  store.records["http://a.test"].error = "refresh_failed";
  RobotsGate::Output decided;
  gate.stored("http://a.test", decided);
  CHECK(seqs(decided.ready) == std::vector<std::int64_t>{2});
  REQUIRE(decided.refused.size() == 1);
  CHECK(decided.refused[0].first.seq == 3);
  CHECK(decided.refused[0].second == "disallowed by robots.txt line 2: Disallow: /private");
  // Another origin evicts it; read back, the kept rules are fresh: no fetch.
  RobotsGate::Output later;
  gate.admit(task(4, "http://b.test/x"), later);
  store.put("http://b.test", RobotsAccess::AllowAll, "", 404);
  gate.stored("http://b.test", later);
  fake_now += 23 * kHour;
  gate.admit(task(5, "http://a.test/x"), later);
  CHECK(seqs(later.ready) == std::vector<std::int64_t>{4, 5});
  CHECK(later.robots_fetches.size() == 1);  // b.test's only
}

TEST_CASE("robots_gate: a Crawl-delay that the refreshed robots.txt drops is reset",
          "[crawler][robots_gate][rfc9309-2.4]") {
  FakeStore store;
  store.put("http://a.test", RobotsAccess::Rules, "User-agent: *\nCrawl-delay: 3\n");
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://a.test/x"), out);
  REQUIRE(out.crawl_delays.size() == 1);
  CHECK(out.crawl_delays[0] == std::make_pair(std::string("a.test"), std::int64_t{3000}));
  fake_now += 25 * 3600;
  RobotsGate::Output refresh;
  gate.admit(task(2, "http://a.test/x"), refresh);
  store.put("http://a.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /none\n");
  gate.stored("http://a.test", refresh);
  REQUIRE(refresh.crawl_delays.size() == 1);
  CHECK(refresh.crawl_delays[0] == std::make_pair(std::string("a.test"), std::int64_t{0}));
  CHECK(seqs(refresh.ready) == std::vector<std::int64_t>{2});
}

TEST_CASE("robots_gate: a robots.txt row lost after its commit: no fetch at every task",
          "[crawler][robots_gate]") {
  FakeStore store;
  RobotsGate gate(gate_options(), &store);
  RobotsGate::Output out;
  gate.admit(task(1, "http://lost.test/x"), out);
  REQUIRE(out.robots_fetches.size() == 1);
  gate.stored("http://lost.test", out);  // no row: disallowed, as if unreachable
  REQUIRE(out.refused.size() == 1);
  RobotsGate::Output later;
  gate.admit(task(2, "http://lost.test/y"), later);
  CHECK(later.robots_fetches.empty());
  CHECK(later.refused.size() == 1);
  CHECK(gate.held() == 0);

  SECTION("during a refresh, the rules in use stay") {
    store.put("http://kept.test", RobotsAccess::Rules, "User-agent: *\nDisallow: /p\n");
    RobotsGate::Output k;
    gate.admit(task(3, "http://kept.test/x"), k);
    fake_now += 25 * 3600;
    gate.admit(task(4, "http://kept.test/p"), k);
    REQUIRE(k.robots_fetches.size() == 1);
    store.records.erase("http://kept.test");
    gate.stored("http://kept.test", k);
    CHECK(seqs(k.ready) == std::vector<std::int64_t>{3});
    REQUIRE(k.refused.size() == 1);
    CHECK(k.refused[0].second == "disallowed by robots.txt line 2: Disallow: /p");
  }
}
