// End-to-end politeness and scope tests (issue 4): the real `crawler` binary against several
// loopback hosts (127.0.0.2, 127.0.0.3, ...: all of 127.0.0.0/8 is loopback). Every assertion
// about timing reads the servers' own request logs (arrival times), never wall-clock limits.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/crawler_runner.h"
#include "tests/e2e/test_server.h"

namespace {

using e2e::query_int;
using e2e::query_set;
using e2e::Request;
using e2e::Response;
using e2e::TestServer;

using Pages = std::map<std::string, Response>;

Response html(const std::string& body, int delay_ms = 0) {
  Response r;
  r.body = "<html><head><title>t</title></head><body>" + body + "</body></html>";
  r.delay_ms = delay_ms;
  return r;
}

Response text(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = body;
  return r;
}

// A loopback host serving fixed pages; any other path is a 404.
std::unique_ptr<TestServer> serve(const std::string& ip, Pages pages) {
  std::string error;
  auto server = TestServer::start(
      ip,
      [pages = std::move(pages)](const std::string& target) {
        auto it = pages.find(target);
        return it != pages.end() ? it->second : text(404, "not found");
      },
      &error);
  INFO(error);
  REQUIRE(server);
  return server;
}

// "/" links to /p/0 ... /p/<n-1>; each /p/i links back to "/" and to /p/i+1.
Pages chain_site(int n, int delay_ms) {
  Pages pages;
  std::string index;
  for (int i = 0; i < n; ++i) index += "<a href=\"/p/" + std::to_string(i) + "\">p</a>";
  pages["/"] = html(index, delay_ms);
  for (int i = 0; i < n; ++i) {
    pages["/p/" + std::to_string(i)] =
        html("<a href=\"/\">home</a><a href=\"/p/" + std::to_string(i + 1) + "\">next</a>",
             delay_ms);
  }
  return pages;
}

std::vector<std::string> paths_of(const TestServer& server) {
  std::vector<std::string> out;
  for (const auto& r : server.requests()) out.push_back(r.path_and_query);
  return out;
}

// The smallest time between two consecutive request arrivals, or a large number.
double min_arrival_gap_s(const TestServer& server) {
  auto log = server.requests();
  double gap = 1e9;
  for (std::size_t i = 1; i < log.size(); ++i) gap = std::min(gap, log[i].arrival_s - log[i - 1].arrival_s);
  return gap;
}

std::string seeds_of(const std::vector<const TestServer*>& servers) {
  std::string seeds;
  for (const auto* s : servers) seeds += s->base_url() + "/\n";
  return seeds;
}

}  // namespace

TEST_CASE("politeness: per-host delay and concurrency hold on every host, whatever --workers is",
          "[e2e][politeness]") {
  e2e::TempDir dir;
  std::vector<std::unique_ptr<TestServer>> hosts;
  for (const char* ip : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    hosts.push_back(serve(ip, chain_site(12, 30)));
  }
  const std::string seeds =
      dir.write("seeds.txt", seeds_of({hosts[0].get(), hosts[1].get(), hosts[2].get()}));
  const std::string db = dir.file("polite.db");
  SECTION("--per-host 2 with 4 workers: never more than 2 at once per host") {
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--workers", "4", "--concurrency",
                                 "16", "--per-host", "2", "-q"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200") == 3 * 13);
    // The cap is per host, not for the whole crawl: requests to different hosts overlapped
    // (a task filed under the wrong host, e.g. "", would cap the crawl at 2 in all).
    std::vector<std::pair<double, int>> edges;  // (time, +1 arrival / -1 finish), all hosts
    for (const auto& host : hosts) {
      for (const auto& r : host->requests()) {
        edges.emplace_back(r.arrival_s, 1);
        edges.emplace_back(r.finish_s, -1);
      }
    }
    std::sort(edges.begin(), edges.end());  // at equal times a finish (-1) sorts first
    int open = 0, peak = 0;
    for (const auto& [time, step] : edges) peak = std::max(peak, open += step);
    CHECK(peak > 2);
    for (const auto& host : hosts) {
      INFO(host->ip());
      CHECK(host->max_concurrent() <= 2);
      CHECK(host->max_concurrent() >= 1);
      // robots.txt comes first, before any other URL of the origin.
      REQUIRE_FALSE(host->requests().empty());
      CHECK(host->requests().front().path_and_query == "/robots.txt");
    }
  }
  SECTION("--delay 0.25: request starts to one host at least 0.25 s apart") {
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--workers", "2", "--per-host", "4",
                                 "--delay", "0.25", "--max-pages", "12", "-q"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    for (const auto& host : hosts) {
      INFO(host->ip());
      CHECK(host->requests().size() >= 3);
      CHECK(host->max_concurrent() == 1);  // 30 ms responses, 250 ms apart
      // The crawler spaces the starts it hands out; arrivals can differ from starts by the
      // loopback connect time only, so allow 20 ms of that.
      CHECK(min_arrival_gap_s(*host) >= 0.25 - 0.02);
    }
  }
}

TEST_CASE("politeness: robots.txt rules decide what is fetched, and every refusal is recorded",
          "[e2e][politeness][robots]") {
  e2e::TempDir dir;
  Pages pages;
  pages["/robots.txt"] = text(200,
                              "User-agent: *\n"
                              "Disallow: /\n"
                              "\n"
                              "User-agent: crawler\n"
                              "Disallow: /private\n"
                              "Allow: /private/ok\n"
                              "Disallow: /*.pdf$\n"
                              "garbage line without colon\n"
                              "Sitemap: http://127.0.0.5/sitemap.xml\n");
  pages["/"] = html(
      "<a href=\"/a\">a</a><a href=\"/private/x\">x</a><a href=\"/private/ok\">ok</a>"
      "<a href=\"/doc.pdf\">pdf</a><a href=\"/doc.pdf?v=1\">pdf with query</a>");
  pages["/a"] = html("a");
  pages["/private/x"] = html("never");
  pages["/private/ok"] = html("ok");
  pages["/doc.pdf?v=1"] = html("not anchored");
  auto host = serve("127.0.0.5", pages);
  const std::string seeds = dir.write("seeds.txt", host->base_url() + "/\n");
  const std::string db = dir.file("robots.db");
  const std::string base = host->base_url();

  SECTION("the crawler's own group applies: disallowed URLs are stored, never requested") {
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "-q"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    const auto requested = paths_of(*host);
    REQUIRE_FALSE(requested.empty());
    CHECK(requested.front() == "/robots.txt");
    CHECK(std::count(requested.begin(), requested.end(), "/robots.txt") == 1);
    CHECK(std::set<std::string>(requested.begin(), requested.end()) ==
          std::set<std::string>{"/robots.txt", "/", "/a", "/private/ok", "/doc.pdf?v=1"});
    CHECK(query_set(db, "SELECT url, error, error_detail FROM pages WHERE error IS NOT NULL") ==
          std::set<std::string>{
              base + "/private/x|robots|disallowed by robots.txt line 5: Disallow: /private",
              base + "/doc.pdf|robots|disallowed by robots.txt line 7: Disallow: /*.pdf$"});
    CHECK(query_set(db, "SELECT state, reason FROM urls WHERE url = '" + base + "/private/x'") ==
          std::set<std::string>{"failed|robots"});
    CHECK(query_set(db, "SELECT origin, status, access, crawl_delay, url FROM robots") ==
          std::set<std::string>{base + "|200|rules|NULL|" + base + "/robots.txt"});
    CHECK(query_set(db, "SELECT origin, url FROM sitemaps") ==
          std::set<std::string>{base + "|http://127.0.0.5/sitemap.xml"});
    // Refusals are not broken links.
    auto broken = e2e::run_crawler({"broken", "--db", db, "--format", "csv"});
    CHECK(broken.out.find("private/x") == std::string::npos);

    // Resumes the crawl with one more seed; the server's request paths afterwards.
    auto resume_with_one_more_seed = [&] {
      const std::string more = dir.write("more.txt", base + "/private/ok?again\n");
      auto again = e2e::run_crawler({"crawl", more, "--db", db, "-q"});
      INFO(again.err);
      REQUIRE(again.exit_code == 0);
      return paths_of(*host);
    };
    SECTION("a resumed crawl reuses the stored robots.txt instead of fetching it again") {
      const auto before = host->requests().size();
      const auto after = resume_with_one_more_seed();
      REQUIRE(after.size() == before + 1);
      CHECK(after.back() == "/private/ok?again");
    }
    SECTION("a resumed crawl fetches a robots.txt stored more than 24 hours ago again") {
      e2e::execute_sql(db, "UPDATE robots SET fetched_at = '2000-01-01T00:00:00.000Z'");
      const auto before = host->requests().size();
      const auto after = resume_with_one_more_seed();
      REQUIRE(after.size() == before + 2);
      CHECK(after[before] == "/robots.txt");
      CHECK(after.back() == "/private/ok?again");
      CHECK(query_int(db, "SELECT count(*) FROM robots WHERE fetched_at > '2001'") == 1);
    }
  }
  SECTION("--robots-agent picks another group: only robots.txt is requested") {
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--robots-agent", "otherbot", "-q"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(paths_of(*host) == std::vector<std::string>{"/robots.txt"});
    CHECK(query_set(db, "SELECT url, error, error_detail FROM pages") ==
          std::set<std::string>{base + "/|robots|disallowed by robots.txt line 2: Disallow: /"});
  }
  SECTION("--ignore-robots fetches everything, robots.txt not even requested, with a warning") {
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--ignore-robots", "-q"});
    REQUIRE(run.exit_code == 0);
    CHECK(run.err.find("warning: --ignore-robots") != std::string::npos);
    const auto requested = paths_of(*host);
    CHECK(std::count(requested.begin(), requested.end(), "/robots.txt") == 0);
    CHECK(std::count(requested.begin(), requested.end(), "/private/x") == 1);
    CHECK(query_int(db, "SELECT count(*) FROM robots") == 0);
  }
}

TEST_CASE("politeness: a 503 robots.txt blocks its host, a 404 robots.txt allows all",
          "[e2e][politeness][robots]") {
  e2e::TempDir dir;
  Pages blocked_pages = chain_site(3, 0);
  blocked_pages["/robots.txt"] = text(503, "try later");
  auto blocked = serve("127.0.0.6", blocked_pages);
  auto open = serve("127.0.0.7", chain_site(3, 0));  // no robots.txt: 404
  const std::string seeds = dir.write("seeds.txt", seeds_of({blocked.get(), open.get()}));
  const std::string db = dir.file("blocked.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--max-attempts", "2", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  // The 503 host: robots.txt tried twice (with back-off), nothing else ever requested.
  const auto blocked_log = blocked->requests();
  CHECK(paths_of(*blocked) == std::vector<std::string>{"/robots.txt", "/robots.txt"});
  REQUIRE(blocked_log.size() == 2);
  CHECK(blocked_log[1].arrival_s - blocked_log[0].arrival_s >= 0.5 - 0.02);
  CHECK(query_set(db, "SELECT url, error FROM pages WHERE url LIKE '" + blocked->base_url() + "%'") ==
        std::set<std::string>{blocked->base_url() + "/|robots"});
  CHECK(query_set(db, "SELECT status, access, attempts FROM robots WHERE origin = '" +
                          blocked->base_url() + "'") == std::set<std::string>{"503|disallow_all|2"});
  // The 404 host: everything.
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200 AND url LIKE '" +
                          open->base_url() + "%'") == 4);
  CHECK(query_set(db, "SELECT status, access FROM robots WHERE origin = '" + open->base_url() +
                          "'") == std::set<std::string>{"404|allow_all"});

  SECTION("the next run fetches the unreachable robots.txt again") {
    const auto before = blocked->requests().size();
    auto again = e2e::run_crawler({"crawl", "--db", db, "--max-attempts", "1", "-q"});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(blocked->requests().size() == before);  // its URL is stored as refused: not queued
    const std::string more = dir.write("more.txt", blocked->base_url() + "/p/1\n");
    again = e2e::run_crawler({"crawl", more, "--db", db, "--max-attempts", "1", "-q"});
    REQUIRE(again.exit_code == 0);
    CHECK(paths_of(*blocked).back() == "/robots.txt");
    CHECK(blocked->requests().size() == before + 1);
  }
}

TEST_CASE("politeness: a host with a 10 s Crawl-delay does not slow the other hosts",
          "[e2e][politeness][robots]") {
  e2e::TempDir dir;
  Pages slow_pages = chain_site(2, 0);
  slow_pages["/robots.txt"] = text(200, "User-agent: *\nCrawl-delay: 10\n");
  auto slow = serve("127.0.0.8", slow_pages);
  auto fast = serve("127.0.0.9", chain_site(40, 0));
  const std::string seeds = dir.write("seeds.txt", seeds_of({slow.get(), fast.get()}));
  const std::string db = dir.file("delay.db");
  e2e::CrawlerProcess crawl({"crawl", seeds, "--db", db, "--workers", "1", "--per-host", "4",
                             "--progress-interval", "0"},
                            dir);
  // Wait (bounded) until the slow host got its second request, then stop the crawl: the rest
  // of the slow host would take another 20 s.
  for (int i = 0; i < 300 && slow->requests().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  crawl.signal_group(SIGINT);
  auto run = crawl.wait(30);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto slow_log = slow->requests();
  const auto fast_log = fast->requests();
  REQUIRE(slow_log.size() == 2);
  CHECK(slow_log[0].path_and_query == "/robots.txt");
  CHECK(slow_log[1].path_and_query == "/");
  // The Crawl-delay runs from the robots.txt request on.
  CHECK(slow_log[1].arrival_s - slow_log[0].arrival_s >= 10.0 - 0.02);
  // Meanwhile the other host was crawled completely, long before the slow host's first page.
  REQUIRE(fast_log.size() == 1 + 42);  // robots.txt, "/", /p/0 ... /p/39, /p/40 (a 404)
  CHECK(fast_log.back().arrival_s < slow_log[1].arrival_s);
  CHECK(query_set(db, "SELECT crawl_delay FROM robots WHERE origin = '" + slow->base_url() + "'") ==
        std::set<std::string>{"10.0"});
}

TEST_CASE("politeness: --max-crawl-delay caps a huge Crawl-delay", "[e2e][politeness][robots]") {
  e2e::TempDir dir;
  Pages pages = chain_site(2, 0);
  pages["/robots.txt"] = text(200, "User-agent: *\nCrawl-delay: 3600\n");
  auto host = serve("127.0.0.10", pages);
  const std::string seeds = dir.write("seeds.txt", host->base_url() + "/\n");
  const std::string db = dir.file("cap.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--max-crawl-delay", "0.3", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(host->requests().size() == 1 + 4);
  CHECK(min_arrival_gap_s(*host) >= 0.3 - 0.02);
}

TEST_CASE("politeness: 429 with Retry-After holds back the whole host, not only the URL",
          "[e2e][politeness]") {
  // Retry-After in seconds, or as an HTTP date (RFC 9110 section 10.2.3) 3 s ahead.
  const bool as_date = GENERATE(false, true);
  e2e::TempDir dir;
  Pages pages = chain_site(4, 0);
  // /p/0 answers 429 once, then 200 (the handler counts calls).
  auto calls = std::make_shared<std::atomic<int>>(0);
  std::string error;
  auto host = TestServer::start(
      "127.0.0.11",
      [pages, calls, as_date](const std::string& target) {
        if (target == "/p/0" && calls->fetch_add(1) == 0) {
          Response busy = text(429, "slow down");
          std::string value = "2";
          if (as_date) {
            const std::time_t at = std::time(nullptr) + 3;
            std::tm tm{};
            gmtime_r(&at, &tm);
            char buf[64];
            std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            value = buf;
          }
          busy.headers.push_back({"Retry-After", value});
          return busy;
        }
        auto it = pages.find(target);
        return it != pages.end() ? it->second : text(404, "not found");
      },
      &error);
  REQUIRE(host);
  const std::string seeds = dir.write("seeds.txt", host->base_url() + "/\n");
  const std::string db = dir.file("busy.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--per-host", "1", "-q"});
  INFO(run.err);
  INFO("Retry-After as a date: " << as_date);
  REQUIRE(run.exit_code == 0);
  const auto log = host->requests();
  auto first_429 = std::find_if(log.begin(), log.end(), [](const Request& r) { return r.status == 429; });
  REQUIRE(first_429 != log.end());
  REQUIRE(first_429 + 1 != log.end());
  // The next request to the host, whatever its URL, waits out the 2 s (the date, 3 s ahead in
  // whole seconds, means at least 2 s).
  CHECK((first_429 + 1)->arrival_s - first_429->finish_s >= 2.0 - 0.02);
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200") == 5);
}

TEST_CASE("scope: filters and trap guards record why each link was not followed",
          "[e2e][scope]") {
  e2e::TempDir dir;
  Pages pages;
  std::string index =
      "<a href=\"/docs/a\">in</a><a href=\"/blog/b\">not included</a>"
      "<a href=\"/docs/logout\">excluded</a>"
      "<a href=\"/docs/x/y/x/y/x/y/x/y\">repeating path</a>"
      "<a href=\"http://ads.127.0.0.12.nip.test/docs/\">denied domain</a>";
  for (int i = 0; i < 5; ++i) index += "<a href=\"/docs/cal?d=" + std::to_string(i) + "\">c</a>";
  pages["/docs/"] = html(index);
  pages["/docs/a"] = html("a");
  for (int i = 0; i < 5; ++i) pages["/docs/cal?d=" + std::to_string(i)] = html("day");
  auto host = serve("127.0.0.12", pages);
  const std::string base = host->base_url();
  const std::string seeds = dir.write("seeds.txt", base + "/docs/\n");
  const std::string db = dir.file("scope.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--include", "/docs/", "--exclude",
                               "logout", "--deny-domain", "nip.test", "--allow-domain",
                               "nip.test", "--max-query-variants", "3", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(query_set(db, "SELECT url, reason FROM urls WHERE state = 'skipped'") ==
        std::set<std::string>{base + "/blog/b|not_included", base + "/docs/logout|excluded",
                              base + "/docs/x/y/x/y/x/y/x/y|path_trap",
                              "http://ads.127.0.0.12.nip.test/docs/|denied_domain",
                              base + "/docs/cal?d=3|query_variants",
                              base + "/docs/cal?d=4|query_variants"});
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200") == 1 + 1 + 3);

  SECTION("a bad regex is a usage error naming the flag") {
    auto bad = e2e::run_crawler({"crawl", seeds, "--db", dir.file("bad.db"), "--exclude", "(a"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--exclude '(a'") != std::string::npos);
  }
}

TEST_CASE("scope: --max-pages-per-host caps each host, seeds included", "[e2e][scope]") {
  e2e::TempDir dir;
  auto a = serve("127.0.0.13", chain_site(10, 0));
  auto b = serve("127.0.0.14", chain_site(10, 0));
  const std::string seeds = dir.write("seeds.txt", seeds_of({a.get(), b.get()}));
  const std::string db = dir.file("cap.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--max-pages-per-host", "4", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(query_set(db, "SELECT host, count(*) FROM urls WHERE state <> 'skipped' GROUP BY host") ==
        std::set<std::string>{"127.0.0.13|4", "127.0.0.14|4"});
  CHECK(query_int(db, "SELECT count(*) FROM pages") == 8);
  CHECK(query_int(db, "SELECT count(*) FROM urls WHERE reason = 'max_pages_per_host'") == 2 * 7);
}

TEST_CASE("directives: nofollow, noindex, meta refresh and canonical on a real crawl",
          "[e2e][directives]") {
  e2e::TempDir dir;
  Pages pages;
  pages["/"] = html(
      "<a href=\"/followed\">f</a><a rel=\"nofollow\" href=\"/rel-nofollow\">n</a>"
      "<a href=\"/meta-nofollow\">m</a><a href=\"/header-nofollow\">h</a>"
      "<a href=\"/refresh\">r</a><a href=\"/agent-nofollow\">g</a>");
  pages["/agent-nofollow"] = html(
      "<meta name=\"CRAWLER\" content=\"nofollow\"><a href=\"/behind-agent\">b</a>");
  pages["/behind-agent"] = html("b");
  pages["/followed"] = html("<link rel=\"canonical\" href=\"/canonical-target\">");
  pages["/rel-nofollow"] = html("reached only with --follow-nofollow");
  pages["/meta-nofollow"] = html(
      "<meta name=\"robots\" content=\"noindex, nofollow\"><a href=\"/behind-meta\">b</a>");
  Response header = html("<a href=\"/behind-header\">b</a>");
  header.headers.push_back({"X-Robots-Tag", "nofollow"});
  pages["/header-nofollow"] = header;
  pages["/refresh"] = html("<meta http-equiv=\"refresh\" content=\"0; url=/refreshed\">");
  pages["/refreshed"] = html("after refresh");
  pages["/behind-meta"] = html("b");
  pages["/behind-header"] = html("b");
  auto host = serve("127.0.0.15", pages);
  const std::string base = host->base_url();
  const std::string seeds = dir.write("seeds.txt", base + "/\n");

  SECTION("by default nofollow links are recorded, not followed") {
    const std::string db = dir.file("d.db");
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "-q"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(query_set(db, "SELECT url, reason FROM urls WHERE state = 'skipped'") ==
          std::set<std::string>{base + "/rel-nofollow|nofollow", base + "/behind-meta|nofollow",
                                base + "/behind-header|nofollow",
                                base + "/behind-agent|nofollow"});  // <meta name=crawler>
    CHECK(query_set(db, "SELECT url FROM pages WHERE noindex = 1") ==
          std::set<std::string>{base + "/meta-nofollow"});
    CHECK(query_set(db, "SELECT canonical FROM pages WHERE canonical IS NOT NULL") ==
          std::set<std::string>{base + "/canonical-target"});
    CHECK(query_int(db, "SELECT count(*) FROM pages WHERE url = '" + base + "/refreshed'") == 1);
  }
  SECTION("--follow-nofollow follows them too") {
    const std::string db = dir.file("f.db");
    auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--follow-nofollow", "-q"});
    REQUIRE(run.exit_code == 0);
    CHECK(query_int(db, "SELECT count(*) FROM urls WHERE state = 'skipped'") == 0);
    CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200") == 11);
  }
}

TEST_CASE("politeness: robots.txt redirects are followed up to 5 hops, and 500 KiB are parsed",
          "[e2e][politeness][robots]") {
  e2e::TempDir dir;
  auto redirect = [](const std::string& to) {
    Response r = text(301, "moved");
    r.headers.push_back({"Location", to});
    return r;
  };
  // Host a: robots.txt -> /r1 -> /r2 -> the file (2 hops): its rules apply.
  Pages a = chain_site(2, 0);
  a["/robots.txt"] = redirect("/r1");
  a["/r1"] = redirect("/r2");
  a["/r2"] = text(200, "User-agent: *\nDisallow: /p/1\n");
  // Host b: 6 hops, one too many: treated as unavailable, so no restrictions (RFC 9309 2.3.1.2).
  Pages b = chain_site(2, 0);
  b["/robots.txt"] = redirect("/h1");
  for (int i = 1; i <= 6; ++i) {
    b["/h" + std::to_string(i)] = redirect("/h" + std::to_string(i + 1));
  }
  b["/h7"] = text(200, "User-agent: *\nDisallow: /\n");
  // Host c: a 600 KiB robots.txt; a rule at the start applies, one past 500 KiB does not.
  Pages c = chain_site(2, 0);
  c["/robots.txt"] = text(200, "User-agent: *\nDisallow: /p/0\n" +
                                   std::string(600 * 1024, '#') + "\nDisallow: /p/1\n");
  auto host_a = serve("127.0.0.16", a);
  auto host_b = serve("127.0.0.17", b);
  auto host_c = serve("127.0.0.18", c);
  const std::string seeds =
      dir.write("seeds.txt", seeds_of({host_a.get(), host_b.get(), host_c.get()}));
  const std::string db = dir.file("redirects.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(query_set(db, "SELECT url FROM pages WHERE error = 'robots'") ==
        std::set<std::string>{host_a->base_url() + "/p/1", host_c->base_url() + "/p/0"});
  CHECK(query_set(db, "SELECT origin, access, url FROM robots WHERE origin = '" +
                          host_a->base_url() + "'") ==
        std::set<std::string>{host_a->base_url() + "|rules|" + host_a->base_url() + "/r2"});
  CHECK(query_set(db, "SELECT access, error FROM robots WHERE origin = '" + host_b->base_url() +
                          "'") == std::set<std::string>{"allow_all|too_many_redirects"});
  CHECK(query_int(db, "SELECT length(body) FROM robots WHERE origin = '" + host_c->base_url() +
                          "'") == 500 * 1024);
  const auto b_paths = paths_of(*host_b);
  CHECK(std::count(b_paths.begin(), b_paths.end(), "/h7") == 0);  // the 6th hop not taken
  CHECK(std::count(b_paths.begin(), b_paths.end(), "/p/1") == 1);

  SECTION("robots-check gives the crawler's verdicts for a saved robots.txt") {
    const std::string file = dir.write("robots.txt", "User-agent: *\nDisallow: /p/1\n");
    auto check = e2e::run_crawler({"robots-check", "--robots", file, "--agent", "crawler",
                                   host_a->base_url() + "/p/0", host_a->base_url() + "/p/1"});
    CHECK(check.exit_code == 3);
    CHECK(check.out == "group: *\nallowed    " + host_a->base_url() +
                           "/p/0\ndisallowed " + host_a->base_url() +
                           "/p/1  (line 2: Disallow: /p/1)\n");
  }
}

TEST_CASE("politeness: thousands of URLs refused at once are all stored, nothing stalls",
          "[e2e][politeness][robots]") {
  // A seeds file of 20,000 URLs on a host whose robots.txt disallows everything: the
  // coordinator hands 20,000 refusals to the parser in one go while the parser reports
  // commits back; neither may wait on the other forever.
  e2e::TempDir dir;
  Pages pages;
  pages["/robots.txt"] = text(200, "User-agent: *\nDisallow: /\n");
  auto host = serve("127.0.0.19", pages);
  std::string seeds;
  for (int i = 0; i < 20000; ++i) seeds += host->base_url() + "/page/" + std::to_string(i) + "\n";
  const std::string file = dir.write("seeds.txt", seeds);
  const std::string db = dir.file("refused.db");
  auto run = e2e::run_crawler({"crawl", file, "--db", db, "-q"}, 120);
  INFO(run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE error = 'robots'") == 20000);
  CHECK(query_int(db, "SELECT count(*) FROM frontier") == 0);
  CHECK(paths_of(*host) == std::vector<std::string>{"/robots.txt"});
}
