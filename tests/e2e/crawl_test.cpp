// End-to-end: the real `crawler` binary against a generated site on loopback, asserting on the
// database it writes and on the server's request log.

#include <signal.h>
#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "common/hash.h"
#include "tests/e2e/crawler_runner.h"
#include "tests/e2e/test_server.h"

namespace {

using e2e::query_int;
using e2e::query_set;

constexpr int kSitePages = 600;
constexpr unsigned kSiteSeed = 42;

struct Fixture {
  e2e::Site site = e2e::generate_site(kSitePages, kSiteSeed);
  std::unique_ptr<e2e::TestServer> server;
  e2e::TempDir dir;
  std::string base, seeds;

  explicit Fixture(int delay_ms = 0) {
    e2e::Handler handler = e2e::site_handler(site);
    if (delay_ms > 0) {
      handler = [inner = std::move(handler), delay_ms](const std::string& path) {
        e2e::Response r = inner(path);
        r.delay_ms = delay_ms;
        return r;
      };
    }
    std::string error;
    server = e2e::TestServer::start("127.0.0.1", std::move(handler), &error);
    if (!server) FAIL("cannot start the test server: " << error);
    base = server->base_url();
    seeds = dir.write("seeds.txt", "# the generated site\n" + base + "/\n");
  }

  std::set<std::string> expected_pages(int max_depth = -1) const {
    std::set<std::string> out;
    for (const auto& [path, depth] : site.depth) {
      if (max_depth < 0 || depth <= max_depth) out.insert(base + path);
    }
    return out;
  }

  // Every page a crawl stores when `blocked`'s links are never read (its worker dies on it):
  // those reachable from "/" without passing through it, `blocked` itself included.
  std::set<std::string> pages_reachable_without(const std::string& blocked) const {
    std::set<std::string> out;
    std::vector<std::string> todo = {"/"};
    while (!todo.empty()) {
      const std::string path = todo.back();
      todo.pop_back();
      if (!out.insert(base + path).second || path == blocked) continue;
      if (auto it = site.edges.find(path); it != site.edges.end()) {
        todo.insert(todo.end(), it->second.begin(), it->second.end());
      }
    }
    if (out.count(base + e2e::kRedirectPath)) out.insert(base + e2e::kRedirectTarget);
    return out;
  }

  std::set<std::string> expected_links() const {
    std::set<std::string> out;
    for (const auto& [from, tos] : site.edges) {
      for (const auto& to : tos) out.insert(base + from + "|" + base + to);
    }
    // A redirected URL's page is the target's page: its links are recorded under the URL
    // that was requested (pages.url), like every other page's.
    for (const auto& to : site.edges.at(e2e::kRedirectTarget)) {
      out.insert(base + e2e::kRedirectPath + "|" + base + to);
    }
    return out;
  }

  // Requests per path, robots.txt excluded.
  std::map<std::string, int> request_counts() const {
    std::map<std::string, int> counts;
    for (const auto& r : server->requests()) {
      if (r.path_and_query != "/robots.txt") ++counts[r.path_and_query];
    }
    return counts;
  }
};

e2e::RunResult crawl(const Fixture& f, const std::string& db, std::vector<std::string> extra) {
  std::vector<std::string> args = {"crawl", f.seeds, "--db", db, "--progress-interval", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return e2e::run_crawler(args, 180);
}

// No process of the crawl is left: none has the (unique) db path on its command line.
void check_no_leftover_processes(const std::string& db) {
  for (int i = 0; i < 100 && !e2e::processes_with_arg(db).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(e2e::processes_with_arg(db).empty());
}

std::string gzip(const std::string& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Requests a correct crawl makes for a path: one; the redirect target also once through the
// redirect; /error (500) up to --max-attempts (3) times, as 5xx is retried.
int allowed_requests(const std::string& path) {
  if (path == e2e::kRedirectTarget) return 2;
  if (path == e2e::kErrorPath) return 3;
  return 1;
}

const char* const kPageColumns =
    "SELECT url, final_url, status, content_type, depth, title, size_bytes, error FROM pages";

}  // namespace

TEST_CASE("crawl: a 600-page site is stored completely, once, with its exact link graph",
          "[e2e][crawl]") {
  Fixture f;
  const std::string db = f.dir.file("crawl.db");
  auto run = crawl(f, db, {"--workers", "4"});
  INFO(run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);

  // Every reachable page exactly once (url is the primary key's source; count both).
  const auto pages = query_set(db, "SELECT url FROM pages");
  CHECK(pages == f.expected_pages());
  CHECK(query_int(db, "SELECT count(*) FROM pages") == static_cast<long long>(pages.size()));
  CHECK(pages.size() >= 500);

  // links equals the known graph: resolved, normalized, fragment-free, deduplicated.
  CHECK(query_set(db, "SELECT from_url || '|' || to_url FROM links") == f.expected_links());
  CHECK(query_int(db, "SELECT count(*) FROM links") ==
        static_cast<long long>(f.expected_links().size()));

  // Breadth-first depths and titles.
  for (const auto& [path, depth] : f.site.depth) {
    INFO(path);
    CHECK(query_int(db, "SELECT depth FROM pages WHERE url = '" + f.base + path + "'") == depth);
  }
  CHECK(query_set(db, "SELECT title FROM pages WHERE url = '" + f.base + "/p/7.html'") ==
        std::set<std::string>{"Page 7"});

  // Each URL fetched at most once; the redirect target may be fetched once more through
  // the redirect. Nothing the crawler must not read (links in a PDF, past the size cap).
  for (const auto& [path, count] : f.request_counts()) {
    INFO(path);
    CHECK(count <= allowed_requests(path));
    CHECK(f.site.depth.count(path) == 1);
  }
  CHECK(f.request_counts().at(e2e::kErrorPath) == 3);  // retried with backoff
  CHECK(f.request_counts().at(e2e::kMissingPath) == 1);  // a 404 is never retried
  CHECK(query_int(db, "SELECT attempts FROM pages WHERE url = '" + f.base + e2e::kErrorPath + "'") == 3);
  CHECK(f.request_counts().count(e2e::kPdfTrapPath) == 0);
  CHECK(f.request_counts().count(e2e::kBigTailPath) == 0);
  for (const auto& r : f.server->requests()) {
    CHECK(r.user_agent.rfind("crawler/", 0) == 0);
  }

  // Errors and special responses.
  auto row = [&](const char* path) {
    return query_set(db, "SELECT coalesce(status, 'NULL') || '|' || coalesce(error, 'NULL') || '|' "
                         "|| coalesce(content_type, '') FROM pages WHERE url = '" + f.base + path +
                             "'");
  };
  CHECK(row(e2e::kMissingPath) == std::set<std::string>{"404|NULL|text/html"});
  CHECK(row(e2e::kErrorPath) == std::set<std::string>{"500|NULL|text/plain"});
  CHECK(row(e2e::kPdfPath) == std::set<std::string>{"200|NULL|application/pdf"});
  CHECK(row(e2e::kBigPath) == std::set<std::string>{"NULL|too_large|text/html"});
  CHECK(query_set(db, "SELECT final_url || '|' || redirect_count FROM pages WHERE url = '" +
                          f.base + e2e::kRedirectPath + "'") ==
        std::set<std::string>{f.base + e2e::kRedirectTarget + "|1"});
  CHECK(query_int(db, "SELECT count(*) FROM links WHERE from_url = '" + f.base + e2e::kPdfPath +
                          "'") == 0);
  CHECK(query_set(db, "PRAGMA integrity_check") == std::set<std::string>{"ok"});
  CHECK(query_set(db, "SELECT status FROM crawls") == std::set<std::string>{"finished"});
  check_no_leftover_processes(db);
}

TEST_CASE("crawl: --workers 1 and --workers 4 store identical results", "[e2e][crawl]") {
  Fixture f;
  const std::string db1 = f.dir.file("one.db"), db4 = f.dir.file("four.db");
  auto one = crawl(f, db1, {"--workers", "1"});
  auto four = crawl(f, db4, {"--workers", "4"});
  INFO(one.err << four.err);
  REQUIRE(one.exit_code == 0);
  REQUIRE(four.exit_code == 0);
  const auto pages1 = query_set(db1, kPageColumns);
  CHECK(pages1.size() == f.expected_pages().size());
  CHECK(pages1 == query_set(db4, kPageColumns));
  CHECK(query_set(db1, "SELECT from_url, to_url FROM links") ==
        query_set(db4, "SELECT from_url, to_url FROM links"));
}

TEST_CASE("crawl: --max-depth bounds the link distance from the seeds", "[e2e][crawl]") {
  Fixture f;
  const std::string db = f.dir.file("depth.db");
  auto run = crawl(f, db, {"--max-depth", "2", "--workers", "2"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages(2));
  for (const auto& [path, count] : f.request_counts()) {
    INFO(path);
    CHECK(f.site.depth.at(path) <= 2);
  }
  // Links found on depth-2 pages are still recorded, and their targets known as skipped.
  CHECK(query_int(db, "SELECT count(*) FROM links l JOIN pages p ON p.url = l.from_url "
                      "WHERE p.depth = 2") > 0);
  CHECK(query_int(db, "SELECT count(*) FROM urls WHERE state = 'skipped' AND reason = 'max_depth'") >
        0);
}

TEST_CASE("crawl: --max-pages stops the crawl, and a second run continues it", "[e2e][crawl]") {
  Fixture f;
  const std::string db = f.dir.file("limit.db");
  auto first = crawl(f, db, {"--max-pages", "50", "--workers", "2"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages") == 50);
  CHECK(first.err.find("still queued") != std::string::npos);
  // Breadth-first, as far as a pipeline allows: pages are parsed out of order (several parse
  // threads, two fetchers), so a URL can be discovered, or reach a shorter depth, after a
  // page one level deeper was dispatched (storage/page_store.cpp, improve_depth). No stored
  // page is more than one level deeper than the shallowest URL left in the queue. (The
  // strict form failed about once in 50 runs: max depth 3 stored, depth 2 queued.)
  CHECK(query_int(db, "SELECT max(depth) FROM pages") <=
        query_int(db, "SELECT min(depth) FROM frontier") + 1);

  auto second = crawl(f, db, {"--max-pages", "120", "--workers", "2"});
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages") == 120);
  for (const auto& [path, count] : f.request_counts()) {
    INFO(path);
    CHECK(count <= allowed_requests(path));
  }
}

TEST_CASE("crawl: bad seed lines are reported and skipped, a refusing host is a robots error row",
          "[e2e][crawl]") {
  Fixture f;
  const std::string refused = "http://127.0.0.1:" + std::to_string(e2e::unused_port()) + "/";
  const std::string seeds = f.dir.write("mixed.txt", "# comment\n\nftp://example.org/file\n"
                                                     "not a url\n" + f.base + "/p/599.html\n" +
                                                         refused + "\n");
  const std::string db = f.dir.file("mixed.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--max-depth", "0"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("mixed.txt:3") != std::string::npos);
  CHECK(run.err.find("mixed.txt:4") != std::string::npos);
  CHECK(run.err.find("mixed.txt:1:") == std::string::npos);
  CHECK(run.err.find("mixed.txt:2:") == std::string::npos);
  // The refusing host's robots.txt is unreachable, so RFC 9309 disallows the whole origin:
  // its URL is stored as refused by robots, the connection error on the robots row.
  CHECK(query_set(db, "SELECT url, status, error FROM pages") ==
        std::set<std::string>{f.base + "/p/599.html|200|NULL", refused + "|NULL|robots"});
  CHECK(query_set(db, "SELECT url, access, error, attempts FROM robots WHERE status IS NULL") ==
        std::set<std::string>{refused + "robots.txt|disallow_all|connect|3"});
}

TEST_CASE("crawl: bad command lines and unusable files give one clear line, never a crash",
          "[e2e][cli]") {
  e2e::TempDir dir;
  const std::string seeds = dir.write("seeds.txt", "http://127.0.0.1:9/\n");

  SECTION("missing seeds file: usage error naming it") {
    auto r = e2e::run_crawler({"crawl", dir.file("nope.txt"), "--db", dir.file("x.db")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("nope.txt") != std::string::npos);
  }
  SECTION("no seeds file and nothing to resume: usage error, no file created") {
    auto r = e2e::run_crawler({"crawl", "--db", dir.file("new.db")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("give a seeds file") != std::string::npos);
    CHECK(e2e::read_file(dir.file("new.db")).empty());
  }
  SECTION("a seeds file without one valid URL") {
    auto empty = dir.write("empty.txt", "# nothing\nmailto:someone@example.org\n");
    auto r = e2e::run_crawler({"crawl", empty, "--db", dir.file("x.db")});
    CHECK(r.exit_code == 1);
    const auto said = r.err.find("no valid seed URLs");
    CHECK(said != std::string::npos);
    CHECK(r.err.find("no valid seed URLs", said + 1) == std::string::npos);  // said once
    CHECK(r.err.find("empty.txt:2") != std::string::npos);
  }
  SECTION("a database path that cannot be created") {
    auto r = e2e::run_crawler({"crawl", seeds, "--db", dir.file("no/such/dir/x.db")});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no/such/dir/x.db") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  SECTION("unknown option and missing command are usage errors") {
    CHECK(e2e::run_crawler({"crawl", seeds, "--no-such-flag"}).exit_code == 2);
    CHECK(e2e::run_crawler({}).exit_code == 2);
    CHECK(e2e::run_crawler({"crawl", seeds, "--workers", "-3"}).exit_code == 2);
  }
  SECTION("a database name that is not UTF-8") {
    auto r = e2e::run_crawler({"crawl", seeds, "--db", dir.file("caf\xe9.db")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("UTF-8") != std::string::npos);
  }
  SECTION("--version and --help") {
    auto v = e2e::run_crawler({"--version"});
    CHECK(v.exit_code == 0);
    CHECK(v.out.find("crawler ") == 0);
    auto h = e2e::run_crawler({"crawl", "--help"});
    CHECK(h.exit_code == 0);
    CHECK(h.out.find("--max-depth") != std::string::npos);
    CHECK(h.out.find("Examples:") != std::string::npos);
  }
  SECTION("query on a missing database fails and creates nothing") {
    auto r = e2e::run_crawler({"query", "--db", dir.file("absent.db"), "SELECT 1"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("absent.db") != std::string::npos);
    CHECK(e2e::read_file(dir.file("absent.db")).empty());
  }
}

TEST_CASE("query and stats: read-only, formats, clear SQL errors", "[e2e][cli]") {
  Fixture f;
  const std::string db = f.dir.file("q.db");
  REQUIRE(crawl(f, db, {"--max-depth", "1", "--workers", "2"}).exit_code == 0);
  const std::string before = e2e::read_file(db);
  REQUIRE_FALSE(before.empty());

  for (const char* sql : {"DELETE FROM pages", "UPDATE pages SET status = 1",
                          "DROP TABLE pages", "CREATE TABLE t(x)", "PRAGMA user_version = 7",
                          "SELECT 1; DELETE FROM pages", "VACUUM"}) {
    INFO(sql);
    auto r = e2e::run_crawler({"query", "--db", db, sql});
    CHECK(r.exit_code == 1);
    CHECK_FALSE(r.err.empty());
  }
  CHECK(e2e::read_file(db) == before);

  auto bad = e2e::run_crawler({"query", "--db", db, "SELECT nope FROM pages"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("no such column: nope") != std::string::npos);

  auto table = e2e::run_crawler(
      {"query", "--db", db, "SELECT status, count(*) AS n FROM pages GROUP BY status"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("status | n") == 0);

  auto csv = e2e::run_crawler(
      {"query", "--db", db, "--format", "csv", "SELECT url FROM pages WHERE depth = 0"});
  CHECK(csv.out == "url\r\n" + f.base + "/\r\n");

  auto json = e2e::run_crawler(
      {"query", "--db", db, "--format", "json", "SELECT url, status, error FROM pages WHERE depth = 0"});
  CHECK(json.out == "[\n{\"url\":\"" + f.base + "/\",\"status\":200,\"error\":null}\n]\n");

  auto stats = e2e::run_crawler({"stats", "--db", db});
  CHECK(stats.exit_code == 0);
  CHECK(stats.out.find("pages          " + std::to_string(query_int(db, "SELECT count(*) FROM pages"))) == 0);
  CHECK(stats.out.find("hosts          1") != std::string::npos);
  CHECK(e2e::read_file(db) == before);
}

TEST_CASE("crawl: workers are separate processes, and a second crawl on a busy database is refused",
          "[e2e][crawl]") {
  Fixture f(/*delay_ms=*/100);
  const std::string db = f.dir.file("busy.db");
  e2e::CrawlerProcess crawler({"crawl", f.seeds, "--db", db, "--workers", "3", "--max-pages", "40",
                               "--progress-interval", "0"},
                              f.dir);
  // Wait for the pool: 3 fetchers and 1 parser, children of the coordinator (a child that
  // has not yet exec'd still shows the coordinator's command line).
  int fetchers = 0, parsers = 0;
  for (int i = 0; i < 500 && (fetchers != 3 || parsers != 1); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    fetchers = parsers = 0;
    for (pid_t pid : e2e::children_of(crawler.pid())) {
      const std::string cmd = e2e::cmdline_of(pid);
      fetchers += cmd.find("__fetcher") != std::string::npos;
      parsers += cmd.find("__parser") != std::string::npos;
    }
  }
  CHECK(fetchers == 3);
  CHECK(parsers == 1);

  auto second = e2e::run_crawler({"crawl", f.seeds, "--db", db});
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("in use by another crawl (pid " + std::to_string(crawler.pid()) + ")") !=
        std::string::npos);

  auto first = crawler.wait(120);
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages") == 40);
  check_no_leftover_processes(db);
}

TEST_CASE("crawl: fetch policy: compression, redirect limits and schemes, timeouts, bad HTML",
          "[e2e][crawl]") {
  const std::string links_page =
      "<html><head><title>Start</title></head><body>"
      "<a href=/gz>gz</a><a href=/to-ftp>ftp</a><a href=/loop>loop</a><a href=/slow>slow</a>"
      "<a href=/broken>broken</a><a href=/image.png>img</a></body></html>";
  e2e::Handler handler = [&](const std::string& path) {
    e2e::Response r;
    if (path == "/") {
      r.body = links_page;
    } else if (path == "/gz") {
      r.body = gzip("<html><title>Compressed</title><a href=/after-gz>next</a>" +
                    std::string(2000, ' ') + "</html>");
      r.headers = {{"Content-Encoding", "gzip"}};
    } else if (path == "/after-gz") {
      r.body = "<title>After</title>";
    } else if (path == "/to-ftp") {
      r.status = 302;
      r.headers = {{"Location", "ftp://127.0.0.1/file"}};
    } else if (path == "/loop") {
      r.status = 302;
      r.headers = {{"Location", "/loop"}};
    } else if (path == "/slow") {
      r.delay_ms = 5000;
      r.body = "<title>too late</title>";
    } else if (path == "/broken") {
      // Unclosed elements, a stray </p>, and a tag cut off at EOF (HTML5 drops that tag).
      r.body = "<html><head><title>Broken</title><body></p><div><a href='/after-broken'>x"
               "<table><tr><td><b><i></b><a href=\"/ignored\"";
    } else if (path == "/after-broken") {
      r.body = "<title>Fine</title>";
    } else if (path == "/image.png") {
      r.content_type = "image/png";
      r.body = std::string("\x89PNG\r\n\x1a\n", 8) + "<a href=/never>";
    } else {
      r.status = 404;
      r.body = "nope";
    }
    return r;
  };
  std::string error;
  auto server = e2e::TestServer::start("127.0.0.1", handler, &error);
  REQUIRE(server != nullptr);
  e2e::TempDir dir;
  const std::string base = server->base_url();
  const std::string seeds = dir.write("seeds.txt", base + "/\n");
  const std::string db = dir.file("policy.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--timeout", "1", "--max-redirects",
                               "3", "--progress-interval", "0"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto page = [&](const std::string& path) {
    return query_set(db, "SELECT coalesce(status, 'NULL') || '|' || coalesce(error, 'NULL') || "
                         "'|' || coalesce(title, 'NULL') FROM pages WHERE url = '" + base + path +
                             "'");
  };
  CHECK(page("/gz") == std::set<std::string>{"200|NULL|Compressed"});
  CHECK(page("/after-gz") == std::set<std::string>{"200|NULL|After"});
  CHECK(page("/to-ftp") == std::set<std::string>{"NULL|bad_scheme|NULL"});
  CHECK(page("/loop") == std::set<std::string>{"NULL|too_many_redirects|NULL"});
  CHECK(page("/slow") == std::set<std::string>{"NULL|timeout|NULL"});
  CHECK(page("/broken") == std::set<std::string>{"200|NULL|Broken"});
  CHECK(page("/after-broken") == std::set<std::string>{"200|NULL|Fine"});
  CHECK(page("/image.png") == std::set<std::string>{"200|NULL|NULL"});
  int loop_requests = 0;
  for (const auto& r : server->requests()) {
    CHECK(r.path_and_query != "/never");     // a link inside a PNG is not a link
    CHECK(r.path_and_query != "/ignored");   // inside an unterminated tag
    loop_requests += r.path_and_query == "/loop";
  }
  CHECK(loop_requests == 4);  // the request and 3 redirects, then too_many_redirects
}

TEST_CASE("crawl: a fetcher that crashes on a URL is replaced, the URL fails, the crawl goes on",
          "[e2e][crawl][faults]") {
  Fixture f;
  // Everything else is stored as in a crawl without faults: every page reachable without
  // going through /p/3.html (whose links were never read).
  const std::set<std::string> expected = f.pages_reachable_without("/p/3.html");
  struct Case {
    const char* env;  // test-only switches, crawler/workers.h
    const char* db;
    double timeout_s;
  };
  // Every fetcher that is handed /p/3.html aborts: after claiming it with Took, and before
  // (the coordinator never learns who had it: the crawl must still find the task and finish).
  for (const Case c : {Case{"CRAWLER_TEST_CRASH_ON_URL=/p/3.html", "crash.db", 180},
                       Case{"CRAWLER_TEST_CRASH_BEFORE_TOOK_ON_URL=/p/3.html", "unclaimed.db", 60}}) {
    CAPTURE(c.env);
    const std::string db = f.dir.file(c.db);
    auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2",
                                 "--progress-interval", "0"},
                                c.timeout_s, {c.env});
    INFO(run.err);
    REQUIRE_FALSE(run.timed_out);
    REQUIRE(run.exit_code == 0);
    CHECK(run.err.find("starting a new one") != std::string::npos);
    CHECK(query_set(db, "SELECT coalesce(status, 'NULL') || '|' || error || '|' || attempts "
                        "FROM pages WHERE url = '" + f.base + "/p/3.html'") ==
          std::set<std::string>{"NULL|worker_crash|3"});
    CHECK(query_set(db, "SELECT url FROM pages") == expected);
    CHECK(query_int(db, "SELECT count(*) FROM pages WHERE error = 'worker_crash'") == 1);
    check_no_leftover_processes(db);
  }
}

TEST_CASE("crawl: a fetcher that dies with many transfers aboard is charged to the one URL",
          "[e2e][crawl][faults]") {
  // Responses take 50 ms and a fetcher holds up to 16 transfers. One fetcher takes the index's
  // links /p/0.html ... /p/9.html in order, so it takes /p/5.html with five transfers aboard
  // (with two, the other could take /p/5.html first and die with it alone: a lone task is
  // charged at once, and the path this test is about never runs). Only /p/5.html may be
  // charged: charging every task aboard failed innocent pages whenever they went out beside
  // it three times.
  Fixture f(/*delay_ms=*/50);
  const std::set<std::string> expected = f.pages_reachable_without("/p/5.html");
  struct Case {
    const char* env;
    const char* error;
  };
  for (const Case c : {Case{"CRAWLER_TEST_CRASH_ON_URL=/p/5.html", "worker_crash"},
                       Case{"CRAWLER_TEST_HANG_ON_URL=/p/5.html", "worker_hang"}}) {
    CAPTURE(c.env);
    const std::string db = f.dir.file(std::string("aboard-") + c.error + ".db");
    auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "1", "--per-host", "16",
                                 "--watchdog", "1", "--timeout", "1", "--progress-interval", "0"},
                                180, {c.env});
    INFO(run.err);
    REQUIRE_FALSE(run.timed_out);
    REQUIRE(run.exit_code == 0);
    // The suspects were fetched again one at a time.
    CHECK(run.err.find("fetching them again one at a time") != std::string::npos);
    CHECK(query_set(db, "SELECT error || '|' || attempts FROM pages WHERE error LIKE 'worker%'") ==
          std::set<std::string>{std::string(c.error) + "|3"});
    CHECK(query_set(db, "SELECT url FROM pages WHERE error LIKE 'worker%'") ==
          std::set<std::string>{f.base + "/p/5.html"});
    // No page fetched beside it was charged an attempt (only /error is retried: a 500).
    CHECK(query_set(db, "SELECT url FROM pages WHERE attempts > 1 AND error IS NULL") ==
          std::set<std::string>{f.base + e2e::kErrorPath});
    CHECK(query_set(db, "SELECT url FROM pages") == expected);
    CHECK(query_int(db, "SELECT count(*) FROM frontier") == 0);
    check_no_leftover_processes(db);
  }
  // 111 URLs kill fetchers (/p/5.html, /p/50.html ... /p/599.html), so fetchers die with
  // results handed over, and those pages are stored while their copies wait to go out again:
  // they count once, and --max-pages holds.
  const std::string db = f.dir.file("aboard-max-pages.db");
  auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2", "--per-host", "16",
                               "--max-pages", "300", "--progress-interval", "0"},
                              180, {"CRAWLER_TEST_CRASH_ON_URL=/p/5"});
  INFO(run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages") == 300);
  CHECK(query_int(db,
                  "SELECT count(*) FROM pages p JOIN urls u ON u.id = p.url_id "
                  "WHERE u.state = 'queued'") == 0);
  check_no_leftover_processes(db);
}

TEST_CASE("crawl: SIGTERM to the whole process group stops the crawl cleanly, and it resumes",
          "[e2e][crawl][signals]") {
  Fixture f(/*delay_ms=*/20);
  const std::string db = f.dir.file("term.db");
  std::vector<std::string> args = {"crawl", f.seeds, "--db", db, "--workers", "2",
                                   "--progress-interval", "0"};
  {
    e2e::CrawlerProcess crawler(args, f.dir);  // leads its own process group
    for (int i = 0; i < 500 && e2e::query_int_or_zero(db, "SELECT count(*) FROM pages") < 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    crawler.signal_group(SIGTERM);
    auto stopped = crawler.wait(60);
    INFO(stopped.err);
    CHECK(stopped.exit_code == 0);
    CHECK(query_set(db, "SELECT status FROM crawls") == std::set<std::string>{"interrupted"});
    check_no_leftover_processes(db);
  }
  const long long before = query_int(db, "SELECT count(*) FROM pages");
  CHECK(before < static_cast<long long>(f.expected_pages().size()));
  auto resumed = e2e::run_crawler({"crawl", "--db", db, "--progress-interval", "0"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages());
  for (const auto& [path, count] : f.request_counts()) {
    INFO(path);
    CHECK(count <= allowed_requests(path));
  }
}

TEST_CASE("crawl: kill -9 at random instants, then resume, stores the same pages once",
          "[e2e][crawl][faults]") {
  Fixture f(/*delay_ms=*/3);
  const std::string db = f.dir.file("kill.db");
  const std::vector<std::string> args = {"crawl", f.seeds, "--db", db, "--workers", "2",
                                         "--per-host", "4", "--progress-interval", "0"};
  std::mt19937 random(20261123);  // fixed: a failure can be replayed
  int kills = 0;
  bool finished = false;
  for (int round = 0; round < 6 && !finished; ++round) {
    e2e::CrawlerProcess crawler(args, f.dir);
    const int wait_ms = std::uniform_int_distribution<int>(50, 600)(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    // Alternate: the whole process group at once, or the coordinator alone (its workers must
    // then die by themselves).
    if (round % 2 == 0) {
      crawler.signal_group(SIGKILL);
    } else {
      crawler.signal(SIGKILL);
    }
    auto r = crawler.wait(60);
    INFO("round " << round << " after " << wait_ms << " ms: " << r.err);
    if (r.exit_code == 0) {
      finished = true;  // the crawl ended before the kill
    } else {
      CHECK(r.exit_code == 128 + SIGKILL);
      ++kills;
    }
    check_no_leftover_processes(db);
    if (e2e::query_int_or_zero(db, "SELECT count(*) FROM sqlite_master") > 0) {
      CHECK(query_set(db, "PRAGMA integrity_check") == std::set<std::string>{"ok"});
    }
  }
  CHECK(kills >= 3);
  auto last = e2e::run_crawler({"crawl", "--db", db, "--progress-interval", "0"});
  INFO(last.err);
  REQUIRE(last.exit_code == 0);
  CHECK(query_set(db, "PRAGMA integrity_check") == std::set<std::string>{"ok"});
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages());
  CHECK(query_int(db, "SELECT count(*) FROM pages") ==
        static_cast<long long>(f.expected_pages().size()));
  CHECK(query_set(db, "SELECT from_url || '|' || to_url FROM links") == f.expected_links());
  CHECK(query_int(db, "SELECT count(*) FROM frontier") == 0);
  // Refetches happen only for URLs in flight at a kill: at most workers x concurrency each.
  int extra = 0;
  for (const auto& [path, count] : f.request_counts()) {
    extra += std::max(0, count - allowed_requests(path));
  }
  CHECK(extra <= kills * 2 * 16);
}

TEST_CASE("broken, links, export and stats --format json on a real crawl", "[e2e][cli]") {
  Fixture f;
  const std::string db = f.dir.file("report.db");
  REQUIRE(crawl(f, db, {"--workers", "2"}).exit_code == 0);
  const std::string before = e2e::read_file(db);

  // broken: exactly the fixture's links to /missing (404), /error (500), /big.html (too large).
  std::set<std::string> expected_broken;
  for (const auto& [from, tos] : f.site.edges) {
    for (const auto& to : tos) {
      if (to == e2e::kMissingPath || to == e2e::kErrorPath || to == e2e::kBigPath) {
        expected_broken.insert(f.base + from + "," + f.base + to);
      }
    }
  }
  REQUIRE_FALSE(expected_broken.empty());
  auto broken = e2e::run_crawler({"broken", "--db", db, "--format", "csv"});
  CHECK(broken.exit_code == 0);
  const auto broken_rows = e2e::parse_csv(broken.out);
  REQUIRE_FALSE(broken_rows.empty());
  CHECK(broken_rows[0] == std::vector<std::string>{"from_url", "to_url", "status", "error"});
  std::set<std::string> got_broken;
  for (std::size_t i = 1; i < broken_rows.size(); ++i) {
    REQUIRE(broken_rows[i].size() == 4);
    got_broken.insert(broken_rows[i][0] + "," + broken_rows[i][1]);
    const bool too_large = broken_rows[i][1] == f.base + e2e::kBigPath;
    CHECK(broken_rows[i][2] == (too_large ? "" : broken_rows[i][1] == f.base + e2e::kMissingPath ? "404" : "500"));
    CHECK(broken_rows[i][3] == (too_large ? "too_large" : ""));
  }
  CHECK(got_broken == expected_broken);
  std::string line;

  // links --from takes a URL as typed and normalizes it; --to lists the linking pages.
  auto out = e2e::run_crawler(
      {"links", "--db", db, "--format", "jsonl", "--from", f.base + "/p/../p/7.html#top"});
  CHECK(out.exit_code == 0);
  std::set<std::string> targets;
  std::istringstream out_lines(out.out);
  while (std::getline(out_lines, line)) {
    targets.insert(nlohmann::json::parse(line).at("to_url").get<std::string>());
  }
  std::set<std::string> expected_targets;
  for (const auto& to : f.site.edges.at("/p/7.html")) expected_targets.insert(f.base + to);
  CHECK(targets == expected_targets);
  auto in = e2e::run_crawler({"links", "--db", db, "--format", "json", "--to", f.base + "/p/8.html"});
  CHECK(in.exit_code == 0);
  std::set<std::string> sources;
  for (const auto& row : nlohmann::json::parse(in.out)) sources.insert(row.at("from_url"));
  std::set<std::string> expected_sources;
  for (const auto& [from, tos] : f.site.edges) {
    if (tos.count("/p/8.html")) expected_sources.insert(f.base + from);
  }
  CHECK(sources == expected_sources);
  CHECK(e2e::run_crawler({"links", "--db", db}).exit_code == 2);
  CHECK(e2e::run_crawler({"links", "--db", db, "--from", "ftp://x/"}).exit_code == 2);

  // export: one JSON object per page, outlinks matching the graph; CSV with a header row.
  const std::string jsonl_path = f.dir.file("pages.jsonl");
  CHECK(e2e::run_crawler({"export", "--db", db, "--out", jsonl_path}).exit_code == 0);
  std::istringstream jsonl(e2e::read_file(jsonl_path));
  std::set<std::string> exported;
  while (std::getline(jsonl, line)) {
    const auto page = nlohmann::json::parse(line);
    const std::string url = page.at("url");
    exported.insert(url);
    const std::string path = url.substr(f.base.size());
    if (f.site.edges.count(path)) {
      CHECK(page.at("outlinks") == f.site.edges.at(path).size());
    }
  }
  CHECK(exported == f.expected_pages());
  auto csv = e2e::run_crawler({"export", "--db", db, "--format", "csv"});
  CHECK(csv.exit_code == 0);
  const auto records = e2e::parse_csv(csv.out);
  REQUIRE(records.size() == f.expected_pages().size() + 1);
  REQUIRE(records[0].size() == 11);
  CHECK(records[0][0] == "url");
  CHECK(records[0][10] == "outlinks");
  std::set<std::string> csv_urls;
  for (std::size_t i = 1; i < records.size(); ++i) {
    REQUIRE(records[i].size() == 11);
    csv_urls.insert(records[i][0]);
    if (records[i][0] == f.base + "/p/7.html") {
      CHECK(records[i][5] == "Page 7");
      CHECK(records[i][10] == std::to_string(f.site.edges.at("/p/7.html").size()));
    }
  }
  CHECK(csv_urls == f.expected_pages());
  CHECK(e2e::run_crawler({"export", "--db", db, "--out", f.dir.file("no/dir/x.csv")}).exit_code ==
        1);

  auto stats = e2e::run_crawler({"stats", "--db", db, "--format", "json"});
  CHECK(stats.exit_code == 0);
  const auto s = nlohmann::json::parse(stats.out);
  CHECK(s.at("pages") == f.expected_pages().size());
  CHECK(s.at("errors_by_kind").at("too_large") == 1);
  CHECK(s.at("by_status").at("404") == 1);
  CHECK(s.at("by_content_type").at("application/pdf") == 1);
  CHECK(s.at("hosts") == 1);
  CHECK(e2e::read_file(db) == before);  // every command here is read-only
}

TEST_CASE("search: ranks the page holding a rare word first, never matches scripts",
          "[e2e][cli][search]") {
  std::map<std::string, std::string> pages = {
      {"/", "<title>Home</title><p>Welcome. <a href=/a>a</a> <a href=/b>b</a> <a href=/c>c</a> "
            "<a href=/d>d</a></p>"},
      {"/a", "<title>Instruments</title><p>The xylophone is a percussion instrument. A "
             "xylophone has wooden bars.</p>"},
      {"/b", "<title>Bands</title><p>Our band once borrowed a xylophone for a long, long "
             "evening of music with many other instruments and plenty of words around it.</p>"},
      {"/c", "<title>Code</title><script>var xylophone = 1;</script><style>.xylophone{}</style>"
             "<p>Nothing to see.</p>"},
      {"/d", "<title>Caf\xc3\xa9 cr\xc3\xa8me</title><p>Plain text.</p>"},
  };
  auto server = e2e::TestServer::start("127.0.0.1", [&](const std::string& path) {
    e2e::Response r;
    auto it = pages.find(path);
    if (it == pages.end()) {
      r.status = 404;
    } else {
      r.body = "<html><body>" + it->second + "</body></html>";
    }
    return r;
  });
  REQUIRE(server != nullptr);
  e2e::TempDir dir;
  const std::string base = server->base_url();
  const std::string seeds = dir.write("seeds.txt", base + "/\n");
  const std::string db = dir.file("search.db");
  REQUIRE(e2e::run_crawler({"crawl", seeds, "--db", db, "-q"}).exit_code == 0);

  auto r = e2e::run_crawler({"search", "--db", db, "--format", "json", "xylophone"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto hits = nlohmann::json::parse(r.out);
  REQUIRE(hits.size() == 2);  // not /c: script and style text is not page text
  CHECK(hits[0].at("url") == base + "/a");
  CHECK(hits[1].at("url") == base + "/b");
  CHECK(hits[0].at("snippet").get<std::string>().find("[xylophone]") != std::string::npos);

  // Every term must occur; FTS5 syntax in terms is plain text; diacritics fold.
  auto both = e2e::run_crawler({"search", "--db", db, "--format", "jsonl", "xylophone wooden"});
  CHECK(std::count(both.out.begin(), both.out.end(), '\n') == 1);
  auto syntax = e2e::run_crawler({"search", "--db", db, "xylophone OR \"NEAR(\" *"});
  CHECK(syntax.exit_code == 0);
  auto folded = e2e::run_crawler({"search", "--db", db, "--format", "csv", "cafe"});
  CHECK(folded.out.find(base + "/d") != std::string::npos);
  CHECK(e2e::run_crawler({"search", "--db", db, "  "}).exit_code == 2);

  // --no-text: titles only.
  const std::string notext = dir.file("notext.db");
  REQUIRE(e2e::run_crawler({"crawl", seeds, "--db", notext, "-q", "--no-text"}).exit_code == 0);
  auto none = e2e::run_crawler({"search", "--db", notext, "--format", "json", "xylophone"});
  CHECK(nlohmann::json::parse(none.out).empty());
  auto title = e2e::run_crawler({"search", "--db", notext, "--format", "json", "instruments"});
  CHECK(nlohmann::json::parse(title.out).size() == 1);
}

TEST_CASE("crawl: progress lines off a terminal, a status line on one, quiet and verbose",
          "[e2e][cli][progress]") {
  Fixture f(/*delay_ms=*/5);
  SECTION("not a terminal: plain progress lines, then the summary") {
    const std::string db = f.dir.file("p.db");
    auto r = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2",
                               "--progress-interval", "0.2", "--max-pages", "300"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find('\r') == std::string::npos);
    const auto first = r.err.find("crawl: ");
    REQUIRE(first != std::string::npos);
    CHECK(r.err.find(" pages/s, ", first) != std::string::npos);
    CHECK(r.err.find(" queued, ", first) != std::string::npos);
    CHECK(r.err.find(" in flight, ", first) != std::string::npos);
    CHECK(r.err.find(" elapsed, ETA ", first) != std::string::npos);
    // The summary comes last and has the figures of `crawler stats`.
    const auto summary = r.err.find("\npages          300 (");
    REQUIRE(summary != std::string::npos);
    CHECK(r.err.find(" elapsed", summary) == std::string::npos);
    CHECK(r.err.find("pages by status:", summary) != std::string::npos);
  }
  SECTION("a terminal: one status line redrawn in place") {
    const std::string db = f.dir.file("tty.db");
    // script(1) gives the crawler a pseudo-terminal; its output lands in the typescript file.
    const std::string typescript = f.dir.file("typescript");
    const std::string command = std::string(CRAWLER_BIN_FOR_TESTS) + " crawl " + f.seeds +
                                " --db " + db + " --workers 2";
    const std::string shell = "script -qec '" + command + "' " + typescript + " >/dev/null 2>&1";
    REQUIRE(std::system(shell.c_str()) == 0);
    const std::string screen = e2e::read_file(typescript);
    CHECK(screen.find("\r\x1b[K") != std::string::npos);
    CHECK(screen.find(" pages/s, ") != std::string::npos);
    CHECK(screen.find("crawl: done: ") != std::string::npos);
    CHECK(query_int(db, "SELECT count(*) FROM pages") ==
          static_cast<long long>(f.expected_pages().size()));
  }
  SECTION("--quiet prints nothing; --verbose logs each fetch") {
    auto quiet = crawl(f, f.dir.file("q.db"), {"--quiet", "--max-depth", "1"});
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.err.empty());
    auto verbose = crawl(f, f.dir.file("v.db"), {"--verbose", "--max-depth", "1"});
    CHECK(verbose.exit_code == 0);
    CHECK(verbose.err.find("200 " + f.base + "/p/3.html\n") != std::string::npos);
    CHECK(e2e::run_crawler({"crawl", f.seeds, "-q", "-v"}).exit_code == 2);
  }
}

TEST_CASE("crawl: without crawler-fetcher beside crawler, the crawl fails at once and says why",
          "[e2e][cli]") {
  Fixture f;
  // A copy of `crawler` alone in a directory: its fetchers cannot start.
  const std::string lone = f.dir.file("crawler");
  const std::string copy = "cp " + std::string(CRAWLER_BIN_FOR_TESTS) + " " + lone;
  REQUIRE(std::system(copy.c_str()) == 0);
  const std::string db = f.dir.file("lone.db");
  const std::string err = f.dir.file("err.txt");
  const std::string command = lone + " crawl " + f.seeds + " --db " + db + " 2>" + err;
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  const std::string message = e2e::read_file(err);
  INFO(message);
  CHECK(message.find(f.dir.file("crawler-fetcher")) != std::string::npos);
  CHECK(message.find("No such file") != std::string::npos);
  // No worker was left behind.
  CHECK(e2e::processes_with_arg(db).empty());

  SECTION("a crawler-fetcher of another version: refused at once on either side") {
    // The real fetcher, asked by a crawler of another version, exits with status 4 ...
    const std::string fetcher = std::string(CRAWLER_BIN_FOR_TESTS) + "-fetcher";
    const std::string direct = fetcher + " __fetcher 0.0.0-other '{}' @nowhere 2>" + err;
    const int refused = std::system(direct.c_str());
    REQUIRE(WIFEXITED(refused));
    CHECK(WEXITSTATUS(refused) == 4);
    CHECK(e2e::read_file(err).find("from the same build") != std::string::npos);
    // ... and a crawler whose fetcher exits so stops with an error, instead of starting
    // fetchers for ever.
    f.dir.write("crawler-fetcher", "#!/bin/sh\nexit 4\n");
    REQUIRE(::chmod(f.dir.file("crawler-fetcher").c_str(), 0755) == 0);
    const int other = std::system(command.c_str());
    REQUIRE(WIFEXITED(other));
    CHECK(WEXITSTATUS(other) == 1);
    const std::string why = e2e::read_file(err);
    INFO(why);
    CHECK(why.find("is not from this build of crawler") != std::string::npos);
    CHECK(e2e::processes_with_arg(db).empty());
  }
}

TEST_CASE("crawl: --config reads a TOML [crawl] section, flags win, unknown keys fail",
          "[e2e][cli][config]") {
  Fixture f;
  const std::string db = f.dir.file("cfg.db");
  const std::string config = f.dir.write(
      "crawl.toml", "[crawl]\nmax-depth = 1\nworkers = 1\ndb = \"" + db + "\"\nquiet = true\n");
  auto r = e2e::run_crawler({"crawl", f.seeds, "--config", config});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages(1));

  auto flags_win = e2e::run_crawler({"crawl", f.seeds, "--config", config, "--fresh",
                                     "--max-depth", "2"});
  REQUIRE(flags_win.exit_code == 0);
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages(2));

  const std::string bad = f.dir.write("bad.toml", "[crawl]\nmax-dept = 1\n");
  auto typo = e2e::run_crawler({"crawl", f.seeds, "--config", bad, "--db", f.dir.file("x.db")});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("max-dept") != std::string::npos);
  CHECK(e2e::run_crawler({"crawl", f.seeds, "--config", f.dir.file("none.toml")}).exit_code == 2);
}

TEST_CASE("parse_csv: RFC 4180 fields, quotes, CRLF", "[e2e][csv]") {
  using Rows = std::vector<std::vector<std::string>>;
  CHECK(e2e::parse_csv("a,b\r\n1,2\r\n") == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(e2e::parse_csv("\"x,y\",\"say \"\"hi\"\"\",\"line\nbreak\"\n,\n") ==
        Rows{{"x,y", "say \"hi\"", "line\nbreak"}, {"", ""}});
  CHECK(e2e::parse_csv("last,no newline") == Rows{{"last", "no newline"}});
  CHECK_THROWS(e2e::parse_csv("\"open"));
  CHECK_THROWS(e2e::parse_csv("\"a\"b,c"));
}

TEST_CASE("crawl: retries with backoff for 5xx, 429 and timeouts, never for 404, and limits",
          "[e2e][crawl][retries]") {
  std::atomic<int> flaky_calls{0}, busy_calls{0};
  const std::string bomb = gzip(std::string(64 * 1024 * 1024, 'a'));  // 64 MiB of 'a', ~64 KiB
  e2e::Handler handler = [&](const std::string& path) {
    e2e::Response r;
    if (path == "/") {
      r.body = "<a href=/flaky>1</a><a href=/busy>2</a><a href=/gone>3</a><a href=/hang>4</a>"
               "<a href=/trickle>5</a><a href=/bomb>6</a>";
    } else if (path == "/flaky") {  // 500 twice, then fine
      if (++flaky_calls <= 2) {
        r.status = 500;
        r.body = "oops";
      } else {
        r.body = "<title>Recovered</title>";
      }
    } else if (path == "/busy") {  // 429 with Retry-After: 1, then fine
      if (++busy_calls <= 1) {
        r.status = 429;
        r.headers = {{"Retry-After", "1"}};
      } else {
        r.body = "<title>Served</title>";
      }
    } else if (path == "/gone") {
      r.status = 404;
    } else if (path == "/hang") {
      r.delay_ms = 30000;  // cut short by the crawler's --timeout (and stop() at the end)
    } else if (path == "/trickle") {
      r.body = std::string(4000, 'x');
      r.trickle_bytes_per_s = 20;  // far below --low-speed-limit
    } else if (path == "/bomb") {
      r.body = bomb;
      r.headers = {{"Content-Encoding", "gzip"}};
    } else {
      r.status = 404;
    }
    return r;
  };
  auto server = e2e::TestServer::start("127.0.0.1", handler);
  REQUIRE(server != nullptr);
  e2e::TempDir dir;
  const std::string base = server->base_url();
  const std::string seeds = dir.write("seeds.txt", base + "/\n");
  const std::string db = dir.file("retry.db");
  auto run = e2e::run_crawler({"crawl", seeds, "--db", db, "--timeout", "3", "--low-speed-limit",
                               "1000", "--low-speed-time", "1", "--max-body", "1", "-q"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto row = [&](const std::string& path) {
    return query_set(db, "SELECT coalesce(status, 'NULL') || '|' || coalesce(error, 'NULL') || "
                         "'|' || attempts FROM pages WHERE url = '" + base + path + "'");
  };
  CHECK(row("/flaky") == std::set<std::string>{"200|NULL|3"});
  CHECK(row("/busy") == std::set<std::string>{"200|NULL|2"});
  CHECK(row("/gone") == std::set<std::string>{"404|NULL|1"});
  CHECK(row("/hang") == std::set<std::string>{"NULL|timeout|3"});
  CHECK(row("/trickle") == std::set<std::string>{"NULL|timeout|3"});
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE url = '" + base + "/trickle' AND "
                      "error_detail LIKE '%too slow%'") == 1);  // the low-speed cut-off
  CHECK(row("/bomb") == std::set<std::string>{"NULL|too_large|1"});   // decompressed size
  std::map<std::string, std::vector<double>> arrivals;
  for (const auto& r : server->requests()) arrivals[r.path_and_query].push_back(r.arrival_s);
  CHECK(arrivals["/gone"].size() == 1);
  REQUIRE(arrivals["/flaky"].size() == 3);
  CHECK(arrivals["/flaky"][1] - arrivals["/flaky"][0] >= 0.45);  // 1 s backoff, jitter >= 0.5
  CHECK(arrivals["/flaky"][2] - arrivals["/flaky"][1] >= 0.95);  // 2 s backoff, jitter >= 0.5
  REQUIRE(arrivals["/busy"].size() == 2);
  CHECK(arrivals["/busy"][1] - arrivals["/busy"][0] >= 0.95);  // Retry-After: 1

  // --max-attempts 1: no retries.
  flaky_calls = 0;
  const std::string once = dir.file("once.db");
  REQUIRE(e2e::run_crawler({"crawl", seeds, "--db", once, "--timeout", "1", "--max-attempts", "1",
                            "--max-depth", "1", "-q"})
              .exit_code == 0);
  CHECK(query_set(once, "SELECT status || '|' || attempts FROM pages WHERE url = '" + base +
                            "/flaky'") == std::set<std::string>{"500|1"});
}

// A crawl of the fixture's site whose parser fails on /p/5.html in the way `fault_env`
// (a CRAWLER_TEST_PARSER_..._ON_URL setting) says, with `threads` parse threads.
e2e::RunResult crawl_with_parser_fault(const Fixture& f, const std::string& db,
                                       const char* threads, const std::string& fault_env) {
  auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2", "--parse-threads",
                               threads, "--progress-interval", "0"},
                              180, {fault_env});
  INFO(run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);
  return run;
}

// After crawl_with_parser_fault: /p/5.html alone was blamed (it failed as parser_crash after
// its 3 attempts), every other page is stored as in a crawl without faults and none of them
// was charged an attempt, the database is sound, and no process is left.
void check_only_the_faulty_page_blamed(const Fixture& f, const std::string& db) {
  CHECK(query_set(db, "SELECT coalesce(status, 'NULL') || '|' || error || '|' || attempts "
                      "FROM pages WHERE url = '" + f.base + "/p/5.html'") ==
        std::set<std::string>{"NULL|parser_crash|3"});
  CHECK(query_set(db, "SELECT url FROM pages") == f.pages_reachable_without("/p/5.html"));
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE status = 200 AND attempts <> 1") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE error = 'parser_crash'") == 1);
  CHECK(query_set(db, "PRAGMA integrity_check") == std::set<std::string>{"ok"});
  check_no_leftover_processes(db);
}

TEST_CASE("crawl: a parser that crashes on a page is replaced, the page fails, nothing is lost",
          "[e2e][crawl][faults]") {
  Fixture f;
  // One parse thread, and several: the crash marker must blame the crashing page alone.
  for (const char* threads : {"1", "4"}) {
    CAPTURE(threads);
    const std::string db = f.dir.file(std::string("parser-crash-") + threads + ".db");
    auto run = crawl_with_parser_fault(f, db, threads, "CRAWLER_TEST_PARSER_CRASH_ON_URL=/p/5.html");
    INFO(run.err);
    CHECK(run.err.find("the parser process") != std::string::npos);
    // Each death charged the page: 3 parsers died, no more. (A fetcher that exits because
    // the parser died, reaped first, once sent the page round again uncharged.)
    // (The workers' own lines may interleave with the coordinator's: count the starts only.)
    std::size_t deaths = 0;
    for (std::size_t at = 0; (at = run.err.find("crawl: the parser process ", at)) != std::string::npos;
         ++at) {
      ++deaths;
    }
    CHECK(deaths == 3);
    // Every other page, with its links, as in a crawl without faults: results the dead parser
    // had not committed were fetched again, and none of them was charged an attempt.
    check_only_the_faulty_page_blamed(f, db);
    CHECK(query_int(db, "SELECT count(*) FROM frontier") == 0);
    CHECK(query_set(db, "SELECT status FROM crawls") == std::set<std::string>{"finished"});
  }
}

TEST_CASE("crawl: a parse thread that overflows its stack on a page is blamed alone",
          "[e2e][crawl][faults]") {
  // A stack overflow leaves no stack for the crash marker's signal handler but the thread's
  // alternate signal stack. Without it the process dies unmarked, and every page being parsed
  // at that moment is charged an attempt. parse_slots_test shows the marking itself (on this
  // small site another page is rarely being parsed at the moment of the crash); here, the
  // real crawl: the page fails after its attempts, the parser is replaced, nothing is lost.
  Fixture f;
  for (const char* threads : {"1", "4"}) {
    CAPTURE(threads);
    const std::string db = f.dir.file(std::string("parser-overflow-") + threads + ".db");
    auto run = crawl_with_parser_fault(f, db, threads,
                                       "CRAWLER_TEST_PARSER_STACK_OVERFLOW_ON_URL=/p/5.html");
    INFO(run.err);
    check_only_the_faulty_page_blamed(f, db);
  }
}

TEST_CASE("crawl: the watchdog kills a hanging fetcher or parser, the URL fails, the crawl ends",
          "[e2e][crawl][faults]") {
  Fixture f;
  const std::set<std::string> expected = f.pages_reachable_without("/p/5.html");
  struct Case {
    const char* env;
    const char* error;
    const char* parse_threads;
  };
  for (const Case c : {Case{"CRAWLER_TEST_HANG_ON_URL=/p/5.html", "worker_hang", "1"},
                       Case{"CRAWLER_TEST_PARSER_HANG_ON_URL=/p/5.html", "parser_crash", "1"},
                       Case{"CRAWLER_TEST_PARSER_HANG_ON_URL=/p/5.html", "parser_crash", "4"}}) {
    CAPTURE(c.env, c.parse_threads);
    const std::string db =
        f.dir.file(std::string(c.error) + "-" + c.parse_threads + ".db");
    auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2", "--watchdog",
                                 "1", "--timeout", "1", "--parse-threads", c.parse_threads,
                                 "--progress-interval", "0"},
                                180, {c.env});
    INFO(run.err);
    REQUIRE_FALSE(run.timed_out);
    REQUIRE(run.exit_code == 0);
    CHECK(run.err.find("killing it") != std::string::npos);
    CHECK(query_set(db, "SELECT error || '|' || attempts FROM pages WHERE url = '" + f.base +
                            "/p/5.html'") == std::set<std::string>{std::string(c.error) + "|3"});
    CHECK(query_set(db, "SELECT url FROM pages") == expected);
    // With other pages parsed beside the hanging one, only the hanging one was blamed.
    CHECK(query_int(db, "SELECT count(*) FROM pages WHERE error = '" + std::string(c.error) +
                            "'") == 1);
    check_no_leftover_processes(db);
  }
}

TEST_CASE("crawl: a commit longer than --watchdog is not a hang: the writer's heartbeat",
          "[e2e][crawl][faults]") {
  // The batch holding /p/5.html takes three times --watchdog to commit (SQLite busy on the
  // parser's connection, as in a large FTS5 merge). Its results wait all that time with no
  // Committed; the writer's heartbeat keeps the parser alive, and nothing is charged.
  Fixture f;
  const std::string db = f.dir.file("slow-commit.db");
  auto run = e2e::run_crawler({"crawl", f.seeds, "--db", db, "--workers", "2", "--watchdog", "1",
                               "--progress-interval", "0"},
                              180, {"CRAWLER_TEST_PARSER_SLOW_COMMIT_ON_URL=/p/5.html"});
  INFO(run.err);
  REQUIRE_FALSE(run.timed_out);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.find("parser: test: a slow commit of 3000 ms") != std::string::npos);
  CHECK(run.err.find("killing it") == std::string::npos);
  CHECK(run.err.find("crawl: the parser process ") == std::string::npos);  // never replaced
  CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages());
  CHECK(query_int(db, "SELECT count(*) FROM pages WHERE error = 'parser_crash'") == 0);
  CHECK(query_set(db, "SELECT url FROM pages WHERE attempts > 1") ==
        std::set<std::string>{f.base + e2e::kErrorPath});  // a 500, retried
  check_no_leftover_processes(db);
}

TEST_CASE("crawl: Ctrl-C stops within the grace period with a summary, a second one at once",
          "[e2e][crawl][signals]") {
  SECTION("one SIGINT: in-flight transfers finish, summary, exit 0, resume completes") {
    Fixture f(/*delay_ms=*/10);
    const std::string db = f.dir.file("int.db");
    e2e::CrawlerProcess crawler({"crawl", f.seeds, "--db", db, "--workers", "2",
                                 "--progress-interval", "0"},
                                f.dir);
    for (int i = 0; i < 1000 && e2e::query_int_or_zero(db, "SELECT count(*) FROM pages") < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    crawler.signal_group(SIGINT);  // what a terminal's Ctrl-C does
    auto r = crawler.wait(30);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("crawl: stopping") != std::string::npos);
    CHECK(r.err.find("crawl: interrupted: ") != std::string::npos);
    CHECK(r.err.find("\npages          ") != std::string::npos);  // the summary
    CHECK(query_set(db, "SELECT status FROM crawls") == std::set<std::string>{"interrupted"});
    // Nothing in flight was lost: every fetched page is stored (server log vs pages).
    const long long stored = query_int(db, "SELECT count(*) FROM pages");
    long long requested = 0;
    for (const auto& [path, count] : f.request_counts()) requested += path != e2e::kErrorPath;
    CHECK(stored + 1 >= requested);  // /error may be waiting for its retry
    auto resumed = e2e::run_crawler({"crawl", "--db", db, "-q"});
    CHECK(resumed.exit_code == 0);
    CHECK(query_set(db, "SELECT url FROM pages") == f.expected_pages());
  }
  SECTION("a second SIGINT exits at once, the database stays consistent") {
    Fixture f(/*delay_ms=*/20000);  // every response hangs: only a second Ctrl-C ends it
    const std::string db = f.dir.file("int2.db");
    e2e::CrawlerProcess crawler({"crawl", f.seeds, "--db", db, "--progress-interval", "0"}, f.dir);
    for (int i = 0; i < 500 && e2e::query_int_or_zero(db, "SELECT count(*) FROM crawls") < 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    crawler.signal_group(SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const double before = e2e::monotonic_now_s();
    crawler.signal_group(SIGINT);
    auto r = crawler.wait(30);
    const double took = e2e::monotonic_now_s() - before;
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(took < 8);  // not the 20 s response, not the 10 s grace period
    CHECK(query_set(db, "PRAGMA integrity_check") == std::set<std::string>{"ok"});
    CHECK(query_int(db, "SELECT count(*) FROM frontier") == 1);  // the seed, for a resume
    check_no_leftover_processes(db);
    f.server->stop();
  }
}

namespace {

// `crawler links` on a database an older crawler wrote (schema 3: a URL's id is its hash,
// no url_keys tables) finds URLs by their hash, and reading does not upgrade the file.
TEST_CASE("links: a schema 3 database, whose ids are URL hashes, is read as it is", "[e2e][cli]") {
  e2e::TempDir dir;
  const std::string db = dir.write("v3.db", "");  // an empty file is an empty database
  const std::string a = std::to_string(common::url_id("http://a.test/"));
  const std::string x = std::to_string(common::url_id("http://a.test/x"));
  e2e::execute_sql(db,
                   "CREATE TABLE urls(id INTEGER PRIMARY KEY, url TEXT, depth INTEGER); "
                   "CREATE TABLE pages(url_id INTEGER PRIMARY KEY, status INTEGER, error TEXT); "
                   "CREATE TABLE link_edges(from_id, to_id, follow); "
                   "INSERT INTO urls VALUES (" +
                       a + ", 'http://a.test/', 0), (" + x +
                       ", 'http://a.test/x', 1); "
                       "INSERT INTO pages VALUES (" +
                       a +
                       ", 200, NULL); "
                       "INSERT INTO link_edges VALUES (" +
                       a + ", " + x +
                       ", 1); "
                       "PRAGMA user_version = 3;");
  auto out = e2e::run_crawler({"links", "--db", db, "--format", "csv", "--from", "http://a.test/"});
  INFO(out.err);
  CHECK(out.exit_code == 0);
  CHECK(out.out == "to_url,follow,status,error\r\nhttp://a.test/x,1,,\r\n");  // RFC 4180
  auto in = e2e::run_crawler({"links", "--db", db, "--format", "csv", "--to", "http://a.test/x"});
  CHECK(in.out == "from_url,depth\r\nhttp://a.test/,0\r\n");
  CHECK(e2e::query_int(db, "PRAGMA user_version") == 3);
}

}  // namespace
