// Tests storage/page_store.h: SqlitePageStore::write_batch.

#include "storage/page_store.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "storage/frontier_store.h"
#include "storage/schema.h"
#include "storage_test_support.h"

namespace {

using storage::LinkRecord;
using storage::PageWrite;
using storage::WriteSummary;
using storage_test::must;
using storage_test::query_int;
using storage_test::query_text;

std::string host_of(const std::string& url) {
  const auto start = url.find("://") + 3;
  return url.substr(start, url.find('/', start) - start);
}

LinkRecord follow(const std::string& url) { return {url, host_of(url), true, ""}; }

LinkRecord skip(const std::string& url, const std::string& reason) {
  return {url, host_of(url), false, reason};
}

PageWrite page(const std::string& url, std::vector<LinkRecord> links = {}) {
  PageWrite write;
  write.page.url = url;  // url_id: StoreFixture::write looks it up (with_ids)
  write.page.final_url = url;
  write.page.status = 200;
  write.page.content_type = "text/html";
  write.page.title = "title of " + url;
  write.page.size_bytes = 100;
  write.page.fetched_at_s = 1700000000;
  write.links = std::move(links);
  return write;
}

struct UrlState {
  std::string state;
  std::optional<std::string> reason;
  int depth = 0;
  int attempts = 0;
  std::string host;
};

// A crawl database, a page store on its own connection, and a second connection that adds
// seeds and looks at what the store committed.
class StoreFixture {
 public:
  explicit StoreFixture(int max_depth = -1) : StoreFixture(max_depth, 10000) {}
  StoreFixture(int max_depth, int store_busy_timeout_ms) {
    storage::PageStoreOptions options;
    options.max_depth = max_depth;
    open(options, store_busy_timeout_ms);
  }
  explicit StoreFixture(const storage::PageStoreOptions& options) { open(options, 10000); }

  // A new store on the same database, as a resumed crawl's parser process would open.
  void reopen(const storage::PageStoreOptions& options) {
    store_.reset();
    auto store_db = must(storage::open_db(path_, storage::OpenMode::ReadWrite, 10000));
    store_ = must(storage::SqlitePageStore::create(std::move(store_db), options));
  }

  sqlite3* db() { return db_.get(); }
  storage::ResultStore& store() { return *store_; }

  void seed(const std::vector<std::string>& urls) {
    std::vector<storage::Seed> seeds;
    for (const auto& url : urls) seeds.push_back({url, host_of(url)});
    (void)must(storage::add_seeds(db(), seeds));
  }

  WriteSummary write(const std::vector<PageWrite>& batch) {
    return must(store().write_batch(with_ids(batch)));
  }

  std::vector<PageWrite> with_ids(const std::vector<PageWrite>& batch) {
    return storage_test::with_ids(db(), batch);
  }
  std::int64_t id_of(const std::string& url) { return storage_test::id_of(db(), url); }

  std::optional<UrlState> url(const std::string& url) {
    auto stmt = must(storage::prepare(
        db(), "SELECT state, reason, depth, attempts, host FROM urls WHERE id = ? AND url = ?"));
    storage::bind_int(stmt.get(), 1, id_of(url));
    storage::bind_text(stmt.get(), 2, url);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) return std::nullopt;
    UrlState s;
    s.state = storage::column_text(stmt.get(), 0);
    if (sqlite3_column_type(stmt.get(), 1) != SQLITE_NULL)
      s.reason = storage::column_text(stmt.get(), 1);
    s.depth = sqlite3_column_int(stmt.get(), 2);
    s.attempts = sqlite3_column_int(stmt.get(), 3);
    s.host = storage::column_text(stmt.get(), 4);
    return s;
  }

  // The frontier as (url, depth) in seq order, checking each row's url_id.
  std::vector<std::pair<std::string, int>> frontier() {
    auto stmt =
        must(storage::prepare(db(), "SELECT url_id, url, depth FROM frontier ORDER BY seq"));
    std::vector<std::pair<std::string, int>> rows;
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      const std::string url = storage::column_text(stmt.get(), 1);
      CHECK(sqlite3_column_int64(stmt.get(), 0) == id_of(url));
      rows.emplace_back(url, sqlite3_column_int(stmt.get(), 2));
    }
    return rows;
  }

  std::int64_t count(const std::string& table) {
    return query_int(db(), "SELECT count(*) FROM " + table);
  }

  std::optional<int> page_depth(const std::string& url) {
    auto text =
        query_text(db(), "SELECT depth FROM pages WHERE url_id = " + std::to_string(id_of(url)));
    if (!text) return std::nullopt;
    return std::stoi(*text);
  }

  // Fetches the frontier head until it is empty, as the crawler would; `links` gives each
  // page's outgoing links. Returns the pages in the order they were written.
  std::vector<std::string> crawl(const std::map<std::string, std::vector<LinkRecord>>& links) {
    std::vector<std::string> fetched;
    for (int guard = 0; guard < 100; ++guard) {
      auto head = query_text(db(), "SELECT url FROM frontier ORDER BY seq LIMIT 1");
      if (!head) return fetched;
      auto it = links.find(*head);
      write({page(*head, it == links.end() ? std::vector<LinkRecord>{} : it->second)});
      fetched.push_back(*head);
    }
    FAIL("the crawl did not end");
    return fetched;
  }

 private:
  void open(const storage::PageStoreOptions& options, int store_busy_timeout_ms) {
    db_ = must(storage::open_for_writing(path_));
    auto store_db =
        must(storage::open_db(path_, storage::OpenMode::ReadWrite, store_busy_timeout_ms));
    store_ = must(storage::SqlitePageStore::create(std::move(store_db), options));
  }

  storage_test::TempDir dir_;
  std::string path_ = dir_.file("crawl.db");
  storage::SqliteDb db_;
  std::unique_ptr<storage::SqlitePageStore> store_;  // declared last: closes first
};

using Frontier = std::vector<std::pair<std::string, int>>;

TEST_CASE("page_store: a fetched page is stored with every field and its url marked done",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  PageWrite write =
      page("http://a.test/", {follow("http://a.test/x"), skip("http://b.test/", "out_of_scope")});
  auto& p = write.page;
  p.final_url = "http://a.test/home";
  p.content_type = "text/html; charset=utf-8";
  p.title = "Home";
  p.size_bytes = 1234;
  p.fetched_at_s = 1700000000.25;
  p.redirect_count = 1;
  p.fetch_ms = 87;
  p.attempts = 2;
  p.noindex = true;
  p.canonical = "http://a.test/canonical";

  WriteSummary summary = f.write({write});
  CHECK(summary.pages == 1);
  CHECK(summary.urls_queued == 1);

  auto stmt = must(storage::prepare(
      f.db(),
      "SELECT url, final_url, status, content_type, depth, title, size_bytes, fetched_at, "
      "error IS NULL, error_detail IS NULL, redirect_count, fetch_ms, attempts, links_out, "
      "noindex, canonical FROM pages WHERE url_id = ?"));
  storage::bind_int(stmt.get(), 1, f.id_of("http://a.test/"));
  REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
  auto text = [&](int i) { return storage::column_text(stmt.get(), i); };
  auto integer = [&](int i) { return sqlite3_column_int64(stmt.get(), i); };
  CHECK(text(0) == "http://a.test/");
  CHECK(text(1) == "http://a.test/home");
  CHECK(integer(2) == 200);
  CHECK(text(3) == "text/html; charset=utf-8");
  CHECK(integer(4) == 0);
  CHECK(text(5) == "Home");
  CHECK(integer(6) == 1234);
  CHECK(text(7) == "2023-11-14T22:13:20.250Z");
  CHECK(integer(8) == 1);
  CHECK(integer(9) == 1);
  CHECK(integer(10) == 1);
  CHECK(integer(11) == 87);
  CHECK(integer(12) == 2);
  CHECK(integer(13) == 2);  // links_out counts skipped links too
  CHECK(integer(14) == 1);
  CHECK(text(15) == "http://a.test/canonical");

  auto state = f.url("http://a.test/");
  REQUIRE(state);
  CHECK(state->state == "done");
  CHECK_FALSE(state->reason);
  CHECK(state->attempts == 2);
  CHECK(f.frontier() == Frontier{{"http://a.test/x", 1}});  // the page left the frontier
}

TEST_CASE("page_store: a failed fetch is stored with NULL status and its url marked failed",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/slow"});
  PageWrite write = page("http://a.test/slow");
  write.page.status = 0;
  write.page.final_url = "";
  write.page.content_type = "";
  write.page.title = "";
  write.page.size_bytes = 0;
  write.page.error = "timeout";
  write.page.error_detail = "Operation timed out after 10000 milliseconds";
  write.page.attempts = 3;

  CHECK(f.write({write}).pages == 1);
  const std::string where = " FROM pages WHERE url = 'http://a.test/slow'";
  CHECK(query_int(f.db(),
                  "SELECT status IS NULL AND final_url IS NULL AND content_type IS NULL "
                  "AND title IS NULL AND canonical IS NULL" +
                      where) == 1);
  CHECK(query_text(f.db(), "SELECT error" + where) == "timeout");
  CHECK(query_text(f.db(), "SELECT error_detail" + where) ==
        "Operation timed out after 10000 milliseconds");
  auto state = f.url("http://a.test/slow");
  REQUIRE(state);
  CHECK(state->state == "failed");
  CHECK(state->reason == "timeout");
  CHECK(state->attempts == 3);
  CHECK(f.frontier().empty());
}

TEST_CASE("page_store: fetched_at is ISO 8601 UTC with milliseconds", "[storage][page_store]") {
  struct Row {
    double unix_s;
    const char* expected;
  };
  const std::vector<Row> rows = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1.5, "1970-01-01T00:00:01.500Z"},
      {951782400.75, "2000-02-29T00:00:00.750Z"},
      {1700000000.125, "2023-11-14T22:13:20.125Z"},
      {4102444799.0, "2099-12-31T23:59:59.000Z"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.expected) {
      StoreFixture f;
      PageWrite write = page("http://a.test/");
      write.page.fetched_at_s = row.unix_s;
      f.write({write});
      CHECK(query_text(f.db(), "SELECT fetched_at FROM pages") == row.expected);
    }
  }
}

TEST_CASE("page_store: followable new links are queued at the page's depth + 1",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  WriteSummary summary =
      f.write({page("http://a.test/", {follow("http://a.test/2"), follow("http://a.test/1"),
                                       follow("http://c.test/")})});
  CHECK(summary.pages == 1);
  CHECK(summary.urls_queued == 3);
  // Discovery order is link order.
  CHECK(f.frontier() ==
        Frontier{{"http://a.test/2", 1}, {"http://a.test/1", 1}, {"http://c.test/", 1}});
  auto other_host = f.url("http://c.test/");
  REQUIRE(other_host);
  CHECK(other_host->state == "queued");
  CHECK_FALSE(other_host->reason);
  CHECK(other_host->depth == 1);
  CHECK(other_host->host == "c.test");
  CHECK(other_host->attempts == 0);
  CHECK(query_int(
            f.db(),
            "SELECT count(*) FROM urls WHERE discovered_at LIKE '____-__-__T__:__:__.___Z'") == 4);

  // One level further down.
  summary = f.write({page("http://a.test/2", {follow("http://a.test/2/deeper")})});
  CHECK(summary.urls_queued == 1);
  CHECK(f.url("http://a.test/2/deeper")->depth == 2);
  CHECK(f.page_depth("http://a.test/2") == 1);
}

TEST_CASE("page_store: new URLs get the next ids in the order the batch finds them",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/"});  // ids 1 and 2
  f.write({page("http://a.test/", {follow("http://a.test/z"), skip("http://x.test/", "nofollow"),
                                   follow("http://b.test/")}),
           page("http://b.test/", {follow("http://a.test/c"), follow("http://a.test/z")})});
  CHECK(query_text(f.db(), "SELECT group_concat(url || '=' || id, ' ') FROM "
                           "(SELECT url, id FROM urls ORDER BY id)") ==
        "http://a.test/=1 http://b.test/=2 http://a.test/z=3 http://x.test/=4 http://a.test/c=5");
  CHECK(f.id_of("http://a.test/c") == 5);  // url_keys agrees with urls
  CHECK(query_text(f.db(), "SELECT group_concat(url_id, ' ') FROM "
                           "(SELECT url_id FROM frontier ORDER BY seq)") == "3 5");
}

TEST_CASE("page_store: links are stored as edges and read back through the links view",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  f.write({page("http://a.test/",
                {follow("http://a.test/in"), skip("http://b.test/out", "out_of_scope"),
                 follow("http://a.test/")})});
  const std::int64_t from = f.id_of("http://a.test/");
  CHECK(f.count("link_edges") == 3);
  CHECK(query_int(f.db(), "SELECT follow FROM link_edges WHERE from_id = " + std::to_string(from) +
                              " AND to_id = " + std::to_string(f.id_of("http://a.test/in"))) == 1);
  CHECK(query_int(f.db(), "SELECT follow FROM link_edges WHERE to_id = " +
                              std::to_string(f.id_of("http://b.test/out"))) == 0);
  CHECK(query_text(f.db(),
                   "SELECT group_concat(to_url, ' ') FROM (SELECT to_url FROM links "
                   "WHERE from_url = 'http://a.test/' ORDER BY to_url)") ==
        "http://a.test/ http://a.test/in http://b.test/out");
}

TEST_CASE("page_store: links that may not be followed are recorded as skipped with the reason",
          "[storage][page_store]") {
  struct Row {
    const char* reason;
    std::optional<std::string> stored;
  };
  const std::vector<Row> rows = {
      {"out_of_scope", "out_of_scope"},
      {"nofollow", "nofollow"},
      {"", std::nullopt},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION("reason '" << row.reason << "'") {
      StoreFixture f;
      f.seed({"http://a.test/"});
      WriteSummary summary =
          f.write({page("http://a.test/", {skip("http://z.test/", row.reason)})});
      CHECK(summary.urls_queued == 0);
      auto state = f.url("http://z.test/");
      REQUIRE(state);
      CHECK(state->state == "skipped");
      CHECK(state->reason == row.stored);
      CHECK(state->depth == 1);
      CHECK(f.frontier().empty());
      CHECK(f.count("link_edges") == 1);
    }
  }
}

TEST_CASE("page_store: a url is queued once however often it is linked", "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/"});

  // Two pages of one batch link the same new URL, and to each other and to themselves.
  WriteSummary summary = f.write({
      page("http://a.test/",
           {follow("http://n.test/"), follow("http://b.test/"), follow("http://a.test/")}),
      page("http://b.test/", {follow("http://n.test/"), follow("http://a.test/")}),
  });
  CHECK(summary.pages == 2);
  CHECK(summary.urls_queued == 1);
  CHECK(f.frontier() == Frontier{{"http://n.test/", 1}});
  CHECK(f.count("link_edges") == 5);

  // Later batches: a queued URL, a fetched page and a seed are never queued again.
  summary = f.write({page("http://n.test/", {follow("http://n.test/"), follow("http://a.test/")})});
  CHECK(summary.urls_queued == 0);
  f.seed({"http://c.test/"});
  summary = f.write({page("http://c.test/", {follow("http://a.test/"), follow("http://n.test/")})});
  CHECK(summary.urls_queued == 0);
  CHECK(f.frontier().empty());
  CHECK(query_int(f.db(), "SELECT count(*) FROM urls WHERE url = 'http://n.test/'") == 1);
  CHECK(f.url("http://a.test/")->depth == 0);  // a seed stays at depth 0
}

TEST_CASE("page_store: a page is stored once and a second write of it changes nothing",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  f.write({page("http://a.test/", {follow("http://a.test/first")})});

  PageWrite again = page("http://a.test/", {follow("http://a.test/second")});
  again.page.status = 0;
  again.page.error = "connect";
  again.page.title = "replaced";
  WriteSummary summary = f.write({again});
  CHECK(summary.pages == 0);
  CHECK(summary.urls_queued == 0);
  CHECK(query_text(f.db(), "SELECT title FROM pages") == "title of http://a.test/");
  CHECK(query_int(f.db(), "SELECT status FROM pages") == 200);
  CHECK(f.url("http://a.test/")->state == "done");
  CHECK_FALSE(f.url("http://a.test/second"));  // the duplicate's links were not added
  CHECK(f.count("link_edges") == 1);
  CHECK(f.frontier() == Frontier{{"http://a.test/first", 1}});
}

TEST_CASE("page_store: a page's text is searchable by its url_id and stored in storing order",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/", "http://c.test/"});
  // Stored in an order that is not url_id's (ids follow discovery order: a < b < c).
  PageWrite c = page("http://c.test/");
  c.page.text = "violin strings";
  PageWrite a = page("http://a.test/");
  a.page.text = "cello strings";
  PageWrite b = page("http://b.test/");
  b.page.title.clear();  // neither title nor text: no row
  f.write({c});
  f.write({a, b});
  const std::string ids =
      std::to_string(f.id_of("http://c.test/")) + "," + std::to_string(f.id_of("http://a.test/"));
  CHECK(
      query_text(
          f.db(),
          "SELECT group_concat(url_id) FROM (SELECT url_id FROM page_text_rows ORDER BY rowid)") ==
      ids);
  CHECK(query_int(f.db(), "SELECT rowid FROM page_text WHERE page_text MATCH 'violin'") ==
        f.id_of("http://c.test/"));
  CHECK(query_text(f.db(),
                   "SELECT p.url FROM page_text JOIN pages p ON p.url_id = page_text.rowid "
                   "WHERE page_text MATCH 'cello'") == "http://a.test/");
  CHECK(query_text(f.db(), "SELECT body FROM page_text WHERE page_text MATCH 'title AND c'") ==
        "violin strings");
  CHECK(query_int(f.db(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'strings'") == 2);
  storage_test::exec(f.db(),
                     "INSERT INTO page_text(page_text, rank) VALUES ('integrity-check', 1)");

  // A second write of a stored page adds no text: the first result is kept.
  PageWrite again = page("http://c.test/");
  again.page.text = "replaced";
  f.write({again});
  CHECK(f.count("page_text_rows") == 2);
  CHECK(query_int(f.db(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'replaced'") == 0);
}

TEST_CASE("page_store: a batch's text goes to the full-text index in url_id order, as one segment",
          "[storage][page_store]") {
  // FTS5 writes out what it holds as a segment of its own whenever a transaction gives it a
  // rowid lower than the last one: pages written in the order they finished made a segment
  // for every such step down, in this batch one per page.
  StoreFixture f;
  std::vector<std::string> urls;
  for (int i = 0; i < 8; ++i) urls.push_back("http://a.test/" + std::to_string(i));
  f.seed(urls);
  std::vector<PageWrite> batch;
  for (auto it = urls.rbegin(); it != urls.rend(); ++it) {  // highest url_id first
    batch.push_back(page(*it));
    batch.back().page.text = "common words and token" + std::to_string(batch.size());
  }
  f.write(batch);
  CHECK(query_int(f.db(), "SELECT count(DISTINCT segid) FROM page_text_idx") == 1);
  std::string ascending;
  for (const auto& url : urls) {
    ascending += (ascending.empty() ? "" : ",") + std::to_string(f.id_of(url));
  }
  CHECK(
      query_text(
          f.db(),
          "SELECT group_concat(url_id) FROM (SELECT url_id FROM page_text_rows ORDER BY rowid)") ==
      ascending);
  CHECK(query_int(f.db(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'common'") == 8);
  CHECK(query_int(f.db(), "SELECT rowid FROM page_text WHERE page_text MATCH 'token8'") ==
        f.id_of(urls.front()));
  storage_test::exec(f.db(),
                     "INSERT INTO page_text(page_text, rank) VALUES ('integrity-check', 1)");
}

TEST_CASE("page_store: an empty batch commits nothing and succeeds", "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  WriteSummary summary = f.write({});
  CHECK(summary.pages == 0);
  CHECK(summary.urls_queued == 0);
  CHECK(f.count("pages") == 0);
  CHECK(f.frontier() == Frontier{{"http://a.test/", 0}});
}

TEST_CASE("page_store: --max-depth admits exactly the urls within that many links of a seed",
          "[storage][page_store][policy]") {
  // A chain s -> 1 -> 2 -> 3 -> 4.
  const std::vector<std::string> chain = {"http://s.test/", "http://s.test/1", "http://s.test/2",
                                          "http://s.test/3", "http://s.test/4"};
  std::map<std::string, std::vector<LinkRecord>> links;
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) links[chain[i]] = {follow(chain[i + 1])};

  struct Row {
    int max_depth;
    std::size_t fetched;  // pages written: chain[0 .. fetched)
  };
  const std::vector<Row> rows = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {-1, 5}, {10, 5}};
  for (const auto& row : rows) {
    DYNAMIC_SECTION("max_depth " << row.max_depth) {
      StoreFixture f(row.max_depth);
      f.seed({chain[0]});
      auto fetched = f.crawl(links);
      CHECK(fetched == std::vector<std::string>(chain.begin(),
                                                chain.begin() + static_cast<long>(row.fetched)));
      for (std::size_t i = 0; i < row.fetched; ++i) {
        CHECK(f.page_depth(chain[i]) == static_cast<int>(i));
      }
      if (row.fetched < chain.size()) {
        // The first URL past the limit is known, skipped with the reason, and not queued.
        auto past = f.url(chain[row.fetched]);
        REQUIRE(past);
        CHECK(past->state == "skipped");
        CHECK(past->reason == "max_depth");
        CHECK(past->depth == row.max_depth + 1);
        if (row.fetched + 1 < chain.size()) CHECK_FALSE(f.url(chain[row.fetched + 1]));
      }
      CHECK(f.frontier().empty());
    }
  }
}

TEST_CASE("page_store: a shorter path lowers a queued url's depth in urls and frontier",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/"});
  f.write({page("http://a.test/", {follow("http://a.test/1")})});
  f.write({page("http://a.test/1", {follow("http://x.test/")})});
  CHECK(f.url("http://x.test/")->depth == 2);

  WriteSummary summary = f.write({page("http://b.test/", {follow("http://x.test/")})});
  CHECK(summary.urls_queued == 0);  // lowered, not queued twice
  CHECK(f.url("http://x.test/")->depth == 1);
  CHECK(f.frontier() == Frontier{{"http://x.test/", 1}});

  // A longer path does not raise it again.
  f.write({page("http://x.test/", {})});
  CHECK(f.page_depth("http://x.test/") == 1);
}

TEST_CASE("page_store: a shorter path to a fetched page lowers the depths it leads to",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://s.test/"});
  // s -> a -> b -> {c (follow), n (nofollow)}, and b links back to a.
  f.crawl({{"http://s.test/", {follow("http://s.test/a")}},
           {"http://s.test/a", {follow("http://s.test/b")}},
           {"http://s.test/b",
            {follow("http://s.test/c"), skip("http://s.test/n", "nofollow"),
             follow("http://s.test/a")}},
           {"http://s.test/c", {}}});
  REQUIRE(f.page_depth("http://s.test/b") == 2);
  REQUIRE(f.page_depth("http://s.test/c") == 3);

  f.seed({"http://t.test/"});
  WriteSummary summary = f.write({page("http://t.test/", {follow("http://s.test/b")})});
  CHECK(summary.urls_queued == 0);
  CHECK(f.url("http://s.test/b")->depth == 1);
  CHECK(f.page_depth("http://s.test/b") == 1);
  CHECK(f.url("http://s.test/c")->depth == 2);  // through a followable edge of a fetched page
  CHECK(f.page_depth("http://s.test/c") == 2);
  CHECK(f.url("http://s.test/n")->depth == 3);  // not through a nofollow edge
  CHECK(f.url("http://s.test/a")->depth == 1);  // the cycle b -> a stops: 2 is no improvement
  CHECK(f.page_depth("http://s.test/a") == 1);
}

// write_batch stores all of a batch's pages before it adds their links; a shorter path to a
// page found in the same batch must still reach that page's links, before or after them.
TEST_CASE("page_store: a shorter path to a page of the same batch lowers the depths it leads to",
          "[storage][page_store]") {
  for (const bool shorter_path_first : {true, false}) {
    INFO("the page with the shorter path comes " << (shorter_path_first ? "first" : "second"));
    StoreFixture f(/*max_depth=*/2);
    f.seed({"http://s.test/", "http://t.test/"});
    f.write({page("http://s.test/", {follow("http://s.test/a")})});
    f.write({page("http://s.test/a", {follow("http://s.test/p")})});
    REQUIRE(f.url("http://s.test/p")->depth == 2);
    // t (depth 0) -> p, and p -> q: with p at depth 1, q (depth 2) is within the limit.
    const PageWrite t = page("http://t.test/", {follow("http://s.test/p")});
    const PageWrite p = page("http://s.test/p", {follow("http://s.test/q")});
    WriteSummary summary = f.write(shorter_path_first ? std::vector<PageWrite>{t, p}
                                                      : std::vector<PageWrite>{p, t});
    CHECK(summary.urls_queued == 1);
    CHECK(f.page_depth("http://s.test/p") == 1);
    CHECK(f.url("http://s.test/p")->depth == 1);
    auto q = f.url("http://s.test/q");
    REQUIRE(q);
    CHECK(q->state == "queued");
    CHECK(q->depth == 2);
    CHECK(f.frontier() == Frontier{{"http://s.test/q", 2}});
  }
}

TEST_CASE("page_store: a url skipped for depth is queued when a short enough path appears",
          "[storage][page_store][policy]") {
  StoreFixture f(/*max_depth=*/2);
  f.seed({"http://s.test/"});
  f.crawl({{"http://s.test/", {follow("http://s.test/a")}},
           {"http://s.test/a", {follow("http://s.test/b")}},
           {"http://s.test/b", {follow("http://s.test/c")}}});
  REQUIRE(f.url("http://s.test/c")->state == "skipped");
  REQUIRE(f.url("http://s.test/c")->reason == "max_depth");

  // A second seed links b directly: b moves to depth 1, so c (depth 2) is now within the limit.
  f.seed({"http://t.test/"});
  WriteSummary summary = f.write({page("http://t.test/", {follow("http://s.test/b")})});
  CHECK(summary.urls_queued == 1);
  auto c = f.url("http://s.test/c");
  REQUIRE(c);
  CHECK(c->state == "queued");
  CHECK_FALSE(c->reason);
  CHECK(c->depth == 2);
  CHECK(c->attempts == 0);
  CHECK(f.frontier() == Frontier{{"http://s.test/c", 2}});
}

TEST_CASE("page_store: a url skipped as nofollow is queued when a followable link reaches it",
          "[storage][page_store][policy]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/"});
  f.write({page("http://a.test/", {skip("http://n.test/", "nofollow")})});
  REQUIRE(f.url("http://n.test/")->state == "skipped");

  WriteSummary summary = f.write({page("http://b.test/", {follow("http://n.test/")})});
  CHECK(summary.urls_queued == 1);
  auto n = f.url("http://n.test/");
  CHECK(n->state == "queued");
  CHECK_FALSE(n->reason);
  CHECK(n->depth == 1);
  CHECK(f.frontier() == Frontier{{"http://n.test/", 1}});

  // A second followable link does not queue it again.
  f.seed({"http://c.test/"});
  CHECK(f.write({page("http://c.test/", {follow("http://n.test/")})}).urls_queued == 0);
  CHECK(f.frontier().size() == 1);
}

TEST_CASE("page_store: a followable link past the depth limit does not revive a skipped url",
          "[storage][page_store][policy]") {
  StoreFixture f(/*max_depth=*/1);
  f.seed({"http://s.test/"});
  f.write({page("http://s.test/", {follow("http://s.test/a"), follow("http://s.test/b")})});
  f.write({page("http://s.test/a", {skip("http://n.test/", "nofollow")})});
  REQUIRE(f.url("http://n.test/")->depth == 2);

  WriteSummary summary = f.write({page("http://s.test/b", {follow("http://n.test/")})});
  CHECK(summary.urls_queued == 0);
  CHECK(f.url("http://n.test/")->state == "skipped");
  CHECK(f.frontier().empty());
}

// Everything write_batch decides, as text, for comparing two databases.
std::string crawl_state(sqlite3* db) {
  std::string out;
  auto dump = [&](const std::string& sql) {
    auto stmt = must(storage::prepare(db, sql));
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
        const auto* text = sqlite3_column_text(stmt.get(), c);
        out += text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
        out += c + 1 < sqlite3_column_count(stmt.get()) ? " " : "\n";
      }
    }
    out += "--\n";
  };
  dump("SELECT url, state, reason, depth, attempts FROM urls ORDER BY url");
  dump("SELECT url, depth FROM frontier ORDER BY seq");
  dump("SELECT url, depth, links_out FROM pages ORDER BY url");
  dump("SELECT f.url, t.url, e.follow FROM link_edges e JOIN urls f ON f.id = e.from_id "
       "JOIN urls t ON t.id = e.to_id ORDER BY 1, 2");
  return out;
}

// write_batch orders a batch's work by hash; what it decides must not depend on that. Random
// link graphs are crawled in batches of random size (some with a per-host cap), then the same
// pages are written again, one per batch, into a second database: the two must hold the same
// rows, the frontier in the same order.
TEST_CASE("page_store: a batch of pages decides exactly what the same pages written one by one do",
          "[storage][page_store]") {
  std::mt19937 rng(20261202);
  for (int round = 0; round < 150; ++round) {
    const int max_depth = std::vector<int>{-1, 1, 2, 3}[static_cast<std::size_t>(round % 4)];
    // 24 URLs on 3 hosts; each links to 0-6 others, a fifth of the links nofollow.
    std::vector<std::string> urls;
    for (int i = 0; i < 24; ++i) {
      urls.push_back("http://h" + std::to_string(i % 3) + ".test/" + std::to_string(i));
    }
    std::map<std::string, std::vector<LinkRecord>> graph;
    for (const auto& from : urls) {
      std::vector<std::size_t> targets;
      const int n = static_cast<int>(rng() % 7);
      for (int k = 0; k < n; ++k) {
        const std::size_t t = rng() % urls.size();
        if (std::find(targets.begin(), targets.end(), t) != targets.end()) continue;
        targets.push_back(t);
        graph[from].push_back(rng() % 5 == 0 ? skip(urls[t], "nofollow") : follow(urls[t]));
      }
    }
    storage::PageStoreOptions options;
    options.max_depth = max_depth;
    options.max_pages_per_host = round % 3 == 0 ? 5 : 0;
    StoreFixture batched(options);
    StoreFixture single(options);
    batched.seed({urls[0], urls[1]});
    single.seed({urls[0], urls[1]});
    // The batched crawl writes 1-12 queued pages at a time, any of the frontier's rows in any
    // order (pages finish out of order, and a busy host's wait behind others).
    std::vector<std::string> written;
    for (int guard = 0; guard < 100; ++guard) {
      std::vector<std::string> heads;
      auto stmt = must(storage::prepare(batched.db(), "SELECT url FROM frontier ORDER BY seq"));
      while (sqlite3_step(stmt.get()) == SQLITE_ROW) heads.push_back(storage::column_text(stmt.get(), 0));
      if (heads.empty()) break;
      std::shuffle(heads.begin(), heads.end(), rng);
      heads.resize(std::min(heads.size(), std::size_t{1} + rng() % 12));
      std::vector<PageWrite> batch;
      for (const auto& url : heads) batch.push_back(page(url, graph[url]));
      batched.write(batch);
      written.insert(written.end(), heads.begin(), heads.end());
    }
    for (const auto& url : written) single.write({page(url, graph[url])});
    INFO("round " << round << ", max_depth " << max_depth << ", max_pages_per_host "
                   << options.max_pages_per_host);
    REQUIRE(crawl_state(batched.db()) == crawl_state(single.db()));
  }
}

// Writes `prefix` one page per batch into two databases, then `batch` as one batch into the
// first and one page per batch into the second, and returns both databases' crawl_state.
std::pair<std::string, std::string> batch_and_one_by_one(
    const storage::PageStoreOptions& options, const std::vector<std::string>& seeds,
    const std::vector<PageWrite>& prefix, const std::vector<PageWrite>& batch) {
  StoreFixture batched(options);
  StoreFixture single(options);
  for (StoreFixture* f : {&batched, &single}) {
    f->seed(seeds);
    for (const auto& write : prefix) f->write({write});
  }
  batched.write(batch);
  for (const auto& write : batch) single.write({write});
  return {crawl_state(batched.db()), crawl_state(single.db())};
}

// Cases where a shorter path to a page of the batch revives skipped URLs: the revivals must
// come where adding the links one by one puts them (frontier order, and so the per-host cap).
TEST_CASE("page_store: revivals through a page of the same batch happen in link order",
          "[storage][page_store][policy]") {
  storage::PageStoreOptions depth2;
  depth2.max_depth = 2;
  SECTION("the page comes after the link that shortens its path") {
    // s -> a -> {p, b}, b -> x: p at depth 2, x skipped at depth 3. In the batch t (depth 0)
    // links p and y, then p links x: p moves to 1, y is queued, then x is revived at 2.
    const std::vector<PageWrite> prefix = {
        page("http://s.test/", {follow("http://s.test/a")}),
        page("http://s.test/a", {follow("http://s.test/p"), follow("http://s.test/b")}),
        page("http://s.test/b", {follow("http://s.test/x")})};
    const std::vector<PageWrite> batch = {
        page("http://t.test/", {follow("http://s.test/p"), follow("http://s.test/y")}),
        page("http://s.test/p", {follow("http://s.test/x")})};
    auto [batched, single] =
        batch_and_one_by_one(depth2, {"http://s.test/", "http://t.test/"}, prefix, batch);
    CHECK(batched == single);
    CHECK(single.find("http://s.test/y 1\nhttp://s.test/x 2\n--") != std::string::npos);
  }
  SECTION("the same, with a per-host cap of 1: the first in link order is queued") {
    storage::PageStoreOptions capped = depth2;
    capped.max_pages_per_host = 1;
    const std::vector<PageWrite> prefix = {
        page("http://s.test/", {follow("http://a.test/")}),
        page("http://a.test/", {follow("http://p.test/"), follow("http://b.test/")}),
        page("http://b.test/", {follow("http://h.test/x")})};
    const std::vector<PageWrite> batch = {
        page("http://t.test/", {follow("http://p.test/"), follow("http://h.test/y")}),
        page("http://p.test/", {follow("http://h.test/x")})};
    auto [batched, single] =
        batch_and_one_by_one(capped, {"http://s.test/", "http://t.test/"}, prefix, batch);
    CHECK(batched == single);
    CHECK(single.find("http://h.test/y queued NULL 1") != std::string::npos);
    // x is within the depth limit now; only the cap keeps it out, and its reason says so.
    CHECK(single.find("http://h.test/x skipped max_pages_per_host 2") != std::string::npos);
  }
  SECTION("the page comes before the link that shortens its path") {
    // Its targets are revived in target order, as from the edges of a stored page.
    // lo is found first, so its id is the lower one.
    const std::string lo = "http://s.test/x1", hi = "http://s.test/x2";
    const std::vector<PageWrite> prefix = {
        page("http://s.test/", {follow("http://s.test/a")}),
        page("http://s.test/a", {follow("http://s.test/p"), follow("http://s.test/b")}),
        page("http://s.test/b", {follow(lo), follow(hi)})};
    const std::vector<PageWrite> batch = {page("http://s.test/p", {follow(hi), follow(lo)}),
                                          page("http://t.test/", {follow("http://s.test/p")})};
    auto [batched, single] =
        batch_and_one_by_one(depth2, {"http://s.test/", "http://t.test/"}, prefix, batch);
    CHECK(batched == single);
    CHECK(single.find(hi + " 2\n" + lo + " 2\n--") != std::string::npos);
  }
  SECTION("a page linking one URL twice, nofollow first: the edge's flag is the first link's") {
    const std::vector<PageWrite> prefix = {
        page("http://s.test/", {follow("http://s.test/a")}),
        page("http://s.test/a", {follow("http://s.test/p")})};
    const std::vector<PageWrite> batch = {
        page("http://s.test/p", {skip("http://s.test/x", "nofollow"), follow("http://s.test/x"),
                                 follow("http://s.test/q")}),
        page("http://t.test/", {follow("http://s.test/p")})};
    auto [batched, single] =
        batch_and_one_by_one(storage::PageStoreOptions{}, {"http://s.test/", "http://t.test/"},
                             prefix, batch);
    CHECK(batched == single);
  }
}

TEST_CASE("page_store: frontier seqs keep growing after every queued row was fetched",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/"});
  f.write({page("http://a.test/", {follow("http://a.test/1"), follow("http://a.test/2")})});
  const std::int64_t high = query_int(f.db(), "SELECT max(seq) FROM frontier");
  f.write({page("http://a.test/1"), page("http://a.test/2")});
  REQUIRE(f.frontier().empty());
  f.seed({"http://b.test/"});  // queued by add_seeds, AUTOINCREMENT's own seq
  f.write({page("http://b.test/", {follow("http://b.test/1"), follow("http://b.test/2")})});
  CHECK(f.frontier() == Frontier{{"http://b.test/1", 1}, {"http://b.test/2", 1}});
  CHECK(query_int(f.db(), "SELECT min(seq) FROM frontier") > high + 1);  // after the seed's
  CHECK(query_int(f.db(), "SELECT seq FROM sqlite_sequence WHERE name = 'frontier'") ==
        query_int(f.db(), "SELECT max(seq) FROM frontier"));
}

TEST_CASE("page_store: a page, its links and the urls it queues commit together or not at all",
          "[storage][page_store]") {
  StoreFixture f;
  f.seed({"http://a.test/", "http://b.test/"});
  // Make the store fail on a chosen link target, after earlier rows of the batch were written.
  storage_test::exec(f.db(),
                     "CREATE TRIGGER poison BEFORE INSERT ON urls WHEN NEW.url = "
                     "'http://poison.test/' BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  const Frontier before = f.frontier();

  std::vector<PageWrite> batch;
  SECTION("the failure is in the page's own last link") {
    batch = {
        page("http://a.test/", {follow("http://a.test/1"), skip("http://x.test/", "out_of_scope"),
                                follow("http://poison.test/")})};
  }
  SECTION("the failure is in a later page of the batch") {
    batch = {
        page("http://a.test/", {follow("http://a.test/1"), skip("http://x.test/", "out_of_scope")}),
        page("http://b.test/", {follow("http://b.test/1"), follow("http://poison.test/")})};
  }
  auto result = f.store().write_batch(f.with_ids(batch));
  REQUIRE_FALSE(result);
  CHECK(result.error().code == common::ErrorCode::Storage);
  CHECK(result.error().context.find("injected failure") != std::string::npos);

  CHECK(f.count("pages") == 0);
  CHECK(f.count("link_edges") == 0);
  CHECK(f.count("urls") == 2);  // only the seeds
  CHECK(f.url("http://a.test/")->state == "queued");
  CHECK(f.frontier() == before);

  // The store is usable afterwards: the same batch commits once the fault is gone.
  storage_test::exec(f.db(), "DROP TRIGGER poison");
  WriteSummary summary = must(f.store().write_batch(f.with_ids(batch)));
  CHECK(summary.pages == static_cast<std::int64_t>(batch.size()));
  CHECK(f.count("pages") == static_cast<std::int64_t>(batch.size()));
  CHECK(f.url("http://poison.test/")->state == "queued");
  CHECK(f.url("http://x.test/")->state == "skipped");
}

TEST_CASE("page_store: a batch that cannot get the write lock fails as locked and writes nothing",
          "[storage][page_store]") {
  StoreFixture f(/*max_depth=*/-1, /*store_busy_timeout_ms=*/50);
  f.seed({"http://a.test/"});
  storage_test::exec(f.db(), "BEGIN IMMEDIATE");
  auto result = f.store().write_batch({page("http://a.test/", {follow("http://a.test/1")})});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == common::ErrorCode::Storage);
  CHECK(result.error().context.find("database is locked") != std::string::npos);
  storage_test::exec(f.db(), "COMMIT");

  CHECK(f.count("pages") == 0);
  WriteSummary summary = f.write({page("http://a.test/", {follow("http://a.test/1")})});
  CHECK(summary.pages == 1);
  CHECK(summary.urls_queued == 1);
}

TEST_CASE("page_store: create fails on a database without the schema", "[storage][page_store]") {
  storage_test::TempDir dir;
  auto db = storage_test::open_raw(dir.file("empty.db"));
  auto store = storage::SqlitePageStore::create(std::move(db), {});
  REQUIRE_FALSE(store);
  CHECK(store.error().code == common::ErrorCode::Storage);
  CHECK(store.error().context.find("no such table") != std::string::npos);
}

}  // namespace

TEST_CASE("page_store: --max-pages-per-host queues at most that many urls per host, seeds included",
          "[storage][page_store][policy]") {
  storage::PageStoreOptions options;
  options.max_pages_per_host = 3;
  StoreFixture f(options);
  f.seed({"http://a.test/"});
  f.reopen(options);  // the parser process starts after the seeds are queued
  WriteSummary summary = f.write({page(
      "http://a.test/", {follow("http://a.test/1"), follow("http://a.test/2"),
                         follow("http://a.test/3"), follow("http://a.test/4"),
                         follow("http://b.test/1"), follow("http://b.test/2"),
                         skip("http://c.test/", "out_of_scope")})});
  CHECK(summary.urls_queued == 4);
  CHECK(f.url("http://a.test/1")->state == "queued");
  CHECK(f.url("http://a.test/2")->state == "queued");
  for (const char* url : {"http://a.test/3", "http://a.test/4"}) {
    DYNAMIC_SECTION(url) {
      CHECK(f.url(url)->state == "skipped");
      CHECK(f.url(url)->reason == "max_pages_per_host");
    }
  }
  CHECK(f.url("http://b.test/2")->state == "queued");
  CHECK(f.url("http://c.test/")->reason == "out_of_scope");
  // A later followable link does not revive a URL the cap skipped.
  summary = f.write({page("http://a.test/1", {follow("http://a.test/3")})});
  CHECK(summary.urls_queued == 0);
  CHECK(f.url("http://a.test/3")->state == "skipped");
}

TEST_CASE("page_store: a skipped url that only the per-host cap keeps out gets the cap as reason",
          "[storage][page_store][policy]") {
  for (const bool one_batch : {false, true}) {
    INFO((one_batch ? "one batch" : "one page per batch"));
    storage::PageStoreOptions options;
    options.max_pages_per_host = 1;
    StoreFixture f(options);
    f.seed({"http://a.test/", "http://b.test/", "http://h.test/"});  // h.test's one URL
    f.reopen(options);  // the parser process starts after the seeds are queued
    const std::vector<PageWrite> pages = {
        page("http://a.test/", {skip("http://h.test/x", "nofollow")}),
        page("http://b.test/", {follow("http://h.test/x")})};
    if (one_batch) {
      f.write(pages);
    } else {
      f.write({pages[0]});
      REQUIRE(f.url("http://h.test/x")->reason == "nofollow");
      f.write({pages[1]});
    }
    // A followable link reached it within the depth limit; nofollow no longer says why.
    auto x = f.url("http://h.test/x");
    REQUIRE(x);
    CHECK(x->state == "skipped");
    CHECK(x->reason == "max_pages_per_host");
    CHECK(x->depth == 1);
    CHECK(f.frontier() == Frontier{{"http://h.test/", 0}});  // the seed, not x
  }
}

TEST_CASE("page_store: the per-host cap counts earlier runs' urls after a resume",
          "[storage][page_store][policy]") {
  storage::PageStoreOptions options;
  options.max_pages_per_host = 2;
  StoreFixture f(options);
  f.seed({"http://a.test/"});
  f.reopen(options);
  f.write({page("http://a.test/", {follow("http://a.test/1"), follow("http://a.test/2")})});
  REQUIRE(f.url("http://a.test/2")->reason == "max_pages_per_host");
  options.max_pages_per_host = 3;  // the user raises the cap and resumes
  f.reopen(options);
  WriteSummary summary = f.write(
      {page("http://a.test/1", {follow("http://a.test/5"), follow("http://a.test/6")})});
  CHECK(summary.urls_queued == 1);
  CHECK(f.url("http://a.test/5")->state == "queued");
  CHECK(f.url("http://a.test/6")->reason == "max_pages_per_host");
}

TEST_CASE("page_store: query variants of one path are capped, other paths are not",
          "[storage][page_store][policy][traps]") {
  storage::PageStoreOptions options;
  options.max_query_variants = 2;
  StoreFixture f(options);
  f.seed({"http://a.test/"});
  WriteSummary summary = f.write({page(
      "http://a.test/", {follow("http://a.test/cal?d=1"), follow("http://a.test/cal?d=2"),
                         follow("http://a.test/cal?d=3"), follow("http://a.test/cal"),
                         follow("http://a.test/other?d=1"), follow("http://b.test/cal?d=3")})});
  CHECK(summary.urls_queued == 5);
  CHECK(f.url("http://a.test/cal?d=3")->state == "skipped");
  CHECK(f.url("http://a.test/cal?d=3")->reason == "query_variants");
  CHECK(f.url("http://a.test/cal")->state == "queued");  // no query: not a variant
  CHECK(f.url("http://a.test/other?d=1")->state == "queued");
  CHECK(f.url("http://b.test/cal?d=3")->state == "queued");  // another host's path
}

TEST_CASE("page_store: write_robots stores an origin's robots.txt and its sitemaps, replacing",
          "[storage][page_store][robots]") {
  StoreFixture f;
  storage::RobotsRecord record;
  record.origin = "http://a.test:8080";
  record.url = "http://a.test:8080/robots.txt";
  record.status = 200;
  record.fetched_at_s = 1700000000.25;
  record.access = storage::RobotsAccess::Rules;
  static const char kBody[] = "User-agent: *\nDisallow: /x\n\0binary";
  record.body = std::string(kBody, sizeof kBody - 1);
  record.crawl_delay_s = 2.5;
  record.sitemaps = {"http://a.test:8080/s1.xml", "http://a.test:8080/s2.xml"};
  must(f.store().write_robots(record));
  CHECK(query_text(f.db(), "SELECT access || '|' || status || '|' || crawl_delay || '|' || "
                           "fetched_at FROM robots") ==
        "rules|200|2.5|2023-11-14T22:13:20.250Z");
  CHECK(f.count("sitemaps") == 2);

  auto reader = must(storage::SqliteRobotsStore::create(
      must(storage::open_db(sqlite3_db_filename(f.db(), "main"), storage::OpenMode::ReadOnly))));
  auto loaded = must(reader->load("http://a.test:8080"));
  REQUIRE(loaded);
  CHECK(loaded->body == record.body);  // bytes kept, NUL included
  CHECK(loaded->access == storage::RobotsAccess::Rules);
  CHECK(loaded->crawl_delay_s == 2.5);
  CHECK(loaded->fetched_at_s == Approx(1700000000.25).margin(0.001));  // for its age (24 h)
  CHECK_FALSE(must(reader->load("http://a.test")));  // another origin (port)

  // A later fetch fails: the earlier rules stay (RFC 9309 2.4), dated by the failed attempt.
  storage::RobotsRecord failed;
  failed.origin = record.origin;
  failed.url = record.url;
  failed.access = storage::RobotsAccess::DisallowAll;
  failed.fetched_at_s = 1700090000;
  failed.error = "timeout";
  failed.error_detail = "Operation timed out";
  failed.attempts = 3;
  must(f.store().write_robots(failed));
  CHECK(f.count("robots") == 1);
  CHECK(f.count("sitemaps") == 2);
  CHECK(query_text(f.db(), "SELECT access || '|' || status || '|' || fetched_at || '|' || error "
                           "|| '|' || error_detail || '|' || attempts FROM robots") ==
        "rules|200|2023-11-15T23:13:20.000Z|refresh_failed|timeout: Operation timed out|3");
  loaded = must(reader->load("http://a.test:8080"));
  REQUIRE(loaded);
  CHECK(loaded->access == storage::RobotsAccess::Rules);
  CHECK(loaded->body == record.body);
  CHECK(loaded->crawl_delay_s == 2.5);
  CHECK(loaded->fetched_at_s == Approx(1700090000).margin(0.001));
  failed.status = 503;
  failed.error.clear();
  failed.error_detail.clear();
  must(f.store().write_robots(failed));
  CHECK(query_text(f.db(), "SELECT access || '|' || error_detail FROM robots") ==
        "rules|HTTP 503");

  // A success replaces it whole.
  must(f.store().write_robots(record));
  CHECK(query_text(f.db(), "SELECT access || '|' || coalesce(error, 'NULL') FROM robots") ==
        "rules|NULL");

  // Unreachable with nothing fetched before: stored as such, and replaced by the next outcome.
  storage::RobotsRecord down = failed;
  down.origin = "http://down.test";
  down.url = "http://down.test/robots.txt";
  down.status = 0;
  down.error = "timeout";
  must(f.store().write_robots(down));
  loaded = must(reader->load("http://down.test"));
  REQUIRE(loaded);
  CHECK(loaded->access == storage::RobotsAccess::DisallowAll);
  CHECK(loaded->status == 0);
  CHECK(loaded->crawl_delay_s < 0);
  CHECK(loaded->error == "timeout");
  CHECK(loaded->attempts == 3);
  down.error = "connect";
  must(f.store().write_robots(down));
  loaded = must(reader->load("http://down.test"));
  REQUIRE(loaded);
  CHECK(loaded->error == "connect");
}

// A database from before schema 4 (ids = URL hashes) goes on with hash ids after migration
// 3 -> 4: its URLs are found through url_keys under their old ids, new URLs get their hash,
// and no URL gets a second row.
TEST_CASE("page_store: a database upgraded from schema 3 keeps hash ids for old and new URLs",
          "[storage][page_store]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("v3.db");
  const std::string a = "http://a.test/", old_target = "http://a.test/old",
                    fresh = "http://a.test/new";
  const std::int64_t a_id = common::url_id(a), old_id = common::url_id(old_target);
  {
    // A schema 3 database as a crawl left it: a queued seed and a URL it linked to.
    auto db = must(storage::open_for_writing(path));
    storage_test::exec(db.get(),
                       std::string(storage_test::kUndoV8) + storage_test::kUndoV7 +
                           storage_test::kUndoV6 +
                           "DROP TABLE url_keys; DROP TABLE url_keys_mid; DROP TABLE url_keys_new; "
                           "DROP TABLE url_ids; PRAGMA user_version = 3; "
                           "INSERT INTO urls(id, url, host, depth, state, discovered_at) VALUES (" +
                           std::to_string(a_id) + ", '" + a + "', 'a.test', 0, 'queued', 't'), (" +
                           std::to_string(old_id) + ", '" + old_target +
                           "', 'a.test', 1, 'skipped', 't'); "
                           "INSERT INTO frontier(url_id, url, depth) VALUES (" +
                           std::to_string(a_id) + ", '" + a + "', 0);");
  }
  auto db = must(storage::open_for_writing(path));  // migrates to 4 and on
  REQUIRE(query_text(db.get(), "SELECT scheme FROM url_ids") == "hash");
  auto store = must(storage::SqlitePageStore::create(
      must(storage::open_db(path, storage::OpenMode::ReadWrite)), {}));
  PageWrite write = page(a, {follow(old_target), follow(fresh)});
  write.page.url_id = a_id;                                   // as the frontier row carries it
  CHECK(must(store->write_batch({write})).urls_queued == 2);  // old_target revived, fresh new
  CHECK(query_int(db.get(), "SELECT count(*) FROM urls") == 3);
  CHECK(storage_test::id_of(db.get(), fresh) == common::url_id(fresh));
  CHECK(query_text(db.get(), "SELECT state FROM urls WHERE id = " + std::to_string(old_id)) ==
        "queued");
  CHECK(query_text(db.get(), "SELECT state FROM urls WHERE id = " + std::to_string(a_id)) ==
        "done");
  CHECK(query_int(db.get(), "SELECT count(*) FROM links WHERE from_url = '" + a + "'") == 2);
  CHECK(query_text(db.get(),
                   "SELECT group_concat(url, ' ') FROM (SELECT url FROM frontier "
                   "ORDER BY seq)") == old_target + " " + fresh);
}
