// Tests storage/query.h: run_query (one read-only statement) and collect_stats.

#include "storage/query.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "storage/frontier_store.h"
#include "storage/page_store.h"
#include "storage/schema.h"
#include "storage_test_support.h"

namespace {

using storage::Row;
using storage_test::must;
using storage_test::query_int;
using Pairs = std::vector<std::pair<std::string, std::int64_t>>;

std::string host_of(const std::string& url) {
  const auto start = url.find("://") + 3;
  return url.substr(start, url.find('/', start) - start);
}

storage::PageWrite page(const std::string& url, int status, std::int64_t size_bytes,
                        const std::string& error = "") {
  storage::PageWrite write;
  write.page.url = url;
  write.page.final_url = status != 0 ? url : "";
  write.page.status = status;
  write.page.title = status != 0 ? "t" : "";
  write.page.size_bytes = size_bytes;
  write.page.error = error;
  write.page.fetched_at_s = 1700000000;
  return write;
}

storage::LinkRecord link(const std::string& url, bool follow, const std::string& reason = "") {
  return {url, host_of(url), follow, reason};
}

// Seeds `batch`'s URLs and writes it, through the same path as a crawl.
void crawl(const std::string& path, const std::vector<storage::PageWrite>& batch) {
  auto db = must(storage::open_for_writing(path));
  std::vector<storage::Seed> seeds;
  for (const auto& w : batch) seeds.push_back({w.page.url, host_of(w.page.url)});
  (void)must(storage::add_seeds(db.get(), seeds));
  const auto with_ids = storage_test::with_ids(db.get(), batch);
  auto store = must(storage::SqlitePageStore::create(std::move(db), {}));
  (void)must(store->write_batch(with_ids));
}

// A small finished crawl on disk, with every connection to it closed.
struct CrawledDb {
  storage_test::TempDir dir;
  std::string path = dir.file("crawl.db");

  CrawledDb() {
    crawl(path, {page("http://a.test/", 200, 1000), page("http://a.test/missing", 404, 50),
                 page("http://b.test/", 200, 2000)});
  }
};

// What run_query reported, callback by callback.
struct Collected {
  int column_calls = 0;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  common::Result<void> result;
};

Collected run(sqlite3* db, const std::string& sql, std::size_t stop_after = SIZE_MAX) {
  Collected c;
  c.result = storage::run_query(
      db, sql,
      [&](const std::vector<std::string>& names) {
        ++c.column_calls;
        c.columns = names;
      },
      [&](const Row& row) {
        c.rows.push_back(row);
        return c.rows.size() < stop_after;
      });
  return c;
}

std::string error_of(const Collected& c) {
  return c.result ? "<no error>" : c.result.error().context;
}

// ---------------------------------------------------------------------------------------------
// run_query: what it returns

TEST_CASE("query: rows arrive with their column names and cell types", "[storage][query]") {
  CrawledDb crawled;
  auto db = must(storage::open_for_reading(crawled.path));

  auto c =
      run(db.get(), "SELECT url AS address, status, final_url IS NULL FROM pages ORDER BY url");
  REQUIRE(c.result);
  CHECK(c.column_calls == 1);
  CHECK(c.columns == std::vector<std::string>{"address", "status", "final_url IS NULL"});
  REQUIRE(c.rows.size() == 3);
  CHECK(c.rows[0][0].text == "http://a.test/");
  CHECK_FALSE(c.rows[0][0].is_number);
  CHECK(c.rows[1][0].text == "http://a.test/missing");
  CHECK(c.rows[1][1].text == "404");
  CHECK(c.rows[1][1].is_number);
  CHECK(c.rows[2][0].text == "http://b.test/");
  CHECK(c.rows[2][2].text == "0");

  auto types = run(db.get(), "SELECT 42, -2.5, 'text', NULL, x'00ff10', ''");
  REQUIRE(types.result);
  REQUIRE(types.rows.size() == 1);
  const Row& row = types.rows[0];
  REQUIRE(row.size() == 6);
  CHECK((row[0].text == "42" && row[0].is_number && !row[0].is_null));
  CHECK((row[1].text == "-2.5" && row[1].is_number));
  CHECK((row[2].text == "text" && !row[2].is_number && !row[2].is_null));
  CHECK((row[3].text.empty() && row[3].is_null && !row[3].is_number));
  CHECK((row[4].text == "<blob 3 bytes>" && !row[4].is_number && !row[4].is_null));
  CHECK((row[5].text.empty() && !row[5].is_null));  // an empty string is not NULL
}

TEST_CASE("query: a query without rows still reports its columns", "[storage][query]") {
  CrawledDb crawled;
  auto db = must(storage::open_for_reading(crawled.path));
  auto c = run(db.get(), "SELECT url, title FROM pages WHERE status = 999");
  REQUIRE(c.result);
  CHECK(c.column_calls == 1);
  CHECK(c.columns == std::vector<std::string>{"url", "title"});
  CHECK(c.rows.empty());
}

TEST_CASE("query: on_row returning false stops the query early", "[storage][query]") {
  CrawledDb crawled;
  auto db = must(storage::open_for_reading(crawled.path));
  // Without the stop this would produce a million rows.
  auto c = run(db.get(),
               "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 1000000) "
               "SELECT x FROM n",
               /*stop_after=*/3);
  REQUIRE(c.result);
  REQUIRE(c.rows.size() == 3);
  CHECK(c.rows[2][0].text == "3");
  // The statement was finalized: the connection is idle and takes the next query.
  CHECK(sqlite3_next_stmt(db.get(), nullptr) == nullptr);
  CHECK(run(db.get(), "SELECT count(*) FROM pages").rows.at(0)[0].text == "3");
}

TEST_CASE("query: read-only statements of every shape are accepted", "[storage][query]") {
  struct Case {
    const char* sql;
    std::size_t rows;
  };
  const std::vector<Case> cases = {
      {"SELECT 1", 1},
      {"  select 1  ", 1},
      {"SELECT 1;", 1},
      {"SELECT 1;; ;\n", 1},
      {"SELECT 1; -- a trailing comment", 1},
      {"SELECT 1 /* inline */; /* after */ ;", 1},
      {"-- a leading comment\nSELECT 1", 1},
      {"WITH x(v) AS (VALUES (1), (2)) SELECT v FROM x", 2},
      {"SELECT from_url, to_url FROM links", 0},
      {"SELECT * FROM pages JOIN urls ON urls.id = pages.url_id", 3},
      {"PRAGMA table_info(pages)", 17},
      {"PRAGMA user_version", 1},
      {"EXPLAIN QUERY PLAN SELECT * FROM pages WHERE status = 200", 1},
  };
  CrawledDb crawled;
  auto db = must(storage::open_for_reading(crawled.path));
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.sql) {
      auto got = run(db.get(), c.sql);
      INFO(error_of(got));
      REQUIRE(got.result);
      CHECK(got.rows.size() == c.rows);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// run_query: what it refuses

struct Refusal {
  const char* name;
  std::string sql;
  std::string message;                 // expected in the error
  bool refused_before_running = true;  // else SQLite refuses it at the first step
};

const std::string kReadOnly = "only read-only statements are allowed: the database was not changed";

std::vector<Refusal> refusals(const storage_test::TempDir& dir) {
  return {
      {"insert", "INSERT INTO crawls(started_at, status) VALUES ('x', 'running')", kReadOnly},
      {"replace", "REPLACE INTO crawls(id, started_at, status) VALUES (1, 'x', 'y')", kReadOnly},
      {"update", "UPDATE pages SET title = 'changed'", kReadOnly},
      {"delete", "DELETE FROM pages", kReadOnly},
      {"delete in a CTE", "WITH x AS (SELECT 1) DELETE FROM pages", kReadOnly},
      {"drop table", "DROP TABLE pages", kReadOnly},
      {"drop view", "DROP VIEW links", kReadOnly},
      {"create table", "CREATE TABLE t(x)", kReadOnly},
      {"create temp table", "CREATE TEMP TABLE t(x)", kReadOnly},
      {"create index", "CREATE INDEX t ON pages(title)", kReadOnly},
      {"alter table", "ALTER TABLE pages ADD COLUMN extra TEXT", kReadOnly},
      {"pragma user_version", "PRAGMA user_version=5", kReadOnly},
      {"pragma journal_mode", "PRAGMA journal_mode=DELETE", kReadOnly},
      {"pragma wal_checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)", kReadOnly},
      {"vacuum", "VACUUM", kReadOnly},
      {"vacuum into", "VACUUM INTO '" + dir.file("copy.db") + "'", kReadOnly},
      {"reindex", "REINDEX", kReadOnly},
      {"analyze", "ANALYZE", kReadOnly},
      {"begin immediate", "BEGIN IMMEDIATE", kReadOnly},
      {"select then delete", "SELECT 1; DELETE FROM pages",
       "only one SQL statement at a time (found more after byte 9)"},
      {"two selects", "SELECT 1;SELECT 2",
       "only one SQL statement at a time (found more after byte 9)"},
      {"select then drop after a comment", "SELECT 1; /* c */ DROP TABLE pages",
       "only one SQL statement at a time (found more after byte 9)"},
      {"select then garbage", "SELECT url FROM pages; oops", "only one SQL statement at a time"},
      // ATTACH compiles as read-only; SQLITE_LIMIT_ATTACHED = 0 stops it when it runs.
      {"attach", "ATTACH DATABASE '" + dir.file("attached.db") + "' AS other",
       "too many attached databases", false},
      {"attach memory", "ATTACH ':memory:' AS m", "too many attached databases", false},
      {"select then attach", "SELECT 1; ATTACH '" + dir.file("attached.db") + "' AS other",
       "only one SQL statement at a time"},
  };
}

TEST_CASE("query: statements that would write are refused and the file stays byte-identical",
          "[storage][query]") {
  CrawledDb crawled;
  const auto bytes_before = storage_test::read_bytes(crawled.path);
  REQUIRE(bytes_before);
  REQUIRE(crawled.dir.listing() == std::set<std::string>{"crawl.db"});
  const std::set<std::string> kDatabaseFiles = {"crawl.db", "crawl.db-wal", "crawl.db-shm"};

  enum class Connection { Reading, Writing };
  for (const auto& refusal : refusals(crawled.dir)) {
    for (Connection connection : {Connection::Reading, Connection::Writing}) {
      const char* via = connection == Connection::Reading ? "open_for_reading" : "open_for_writing";
      DYNAMIC_SECTION(refusal.name << " via " << via) {
        {
          // The check must hold on its own, not only thanks to PRAGMA query_only.
          auto db =
              must(connection == Connection::Reading ? storage::open_for_reading(crawled.path)
                                                     : storage::open_for_writing(crawled.path));
          auto c = run(db.get(), refusal.sql);
          REQUIRE_FALSE(c.result);
          CHECK(c.result.error().code == common::ErrorCode::BadInput);
          CHECK_THAT(c.result.error().context, Catch::Contains(refusal.message));
          CHECK(c.column_calls == (refusal.refused_before_running ? 0 : 1));
          CHECK(c.rows.empty());
          CHECK(sqlite3_get_autocommit(db.get()) == 1);
          CHECK(query_int(db.get(), "SELECT count(*) FROM pages") == 3);
        }
        // Closed: a write would have been checkpointed from the WAL into the file by now.
        CHECK(storage_test::read_bytes(crawled.path) == bytes_before);
        // A read-only connection may leave an empty WAL and its index behind; nothing else
        // (no VACUUM INTO copy, no attached database) may appear.
        CHECK(storage_test::read_bytes(crawled.path + "-wal").value_or("").empty());
        for (const auto& name : crawled.dir.listing()) {
          CHECK(kDatabaseFiles.count(name) == 1);
        }
      }
    }
  }
}

TEST_CASE("query: the byte comparison above does notice a write", "[storage][query]") {
  CrawledDb crawled;
  const auto before = storage_test::read_bytes(crawled.path);
  {
    auto db = must(storage::open_for_writing(crawled.path));
    storage_test::exec(db.get(), "UPDATE pages SET title = 'changed'");
  }
  CHECK(storage_test::read_bytes(crawled.path) != before);
}

TEST_CASE("query: errors carry SQLite's message and the byte offset where it applies",
          "[storage][query]") {
  struct Case {
    const char* sql;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"SELECT * FRM pages", "near \"FRM\": syntax error (at byte 9)"},
      {"SELECT nope FROM pages", "no such column: nope (at byte 7)"},
      {"SELECT * FROM nowhere", "no such table: nowhere"},  // SQLite gives no offset here
      {"SELECT * FROM pages WHERE", "incomplete input"},
      {"", "empty query"},
      {"   \n\t", "empty query"},
      {";;", "empty query"},
      {"-- only a comment", "empty query"},
      {"SELECT abs(-9223372036854775808)", "integer overflow"},  // fails while stepping
  };
  CrawledDb crawled;
  auto db = must(storage::open_for_reading(crawled.path));
  for (const auto& c : cases) {
    DYNAMIC_SECTION("'" << c.sql << "'") {
      auto got = run(db.get(), c.sql);
      REQUIRE_FALSE(got.result);
      CHECK(got.result.error().code == common::ErrorCode::BadInput);
      CHECK(got.result.error().context == c.message);
      CHECK(got.rows.empty());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// collect_stats

TEST_CASE("query: stats of an empty database are all zero", "[storage][query][stats]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("crawl.db");
  (void)must(storage::open_for_writing(path));
  auto db = must(storage::open_for_reading(path));
  auto s = must(storage::collect_stats(db.get()));
  CHECK(s.pages == 0);
  CHECK(s.pages_ok == 0);
  CHECK(s.pages_failed == 0);
  CHECK(s.links == 0);
  CHECK(s.urls_known == 0);
  CHECK(s.queued == 0);
  CHECK(s.skipped == 0);
  CHECK(s.hosts == 0);
  CHECK(s.bytes == 0);
  CHECK(s.by_status_class.empty());
  CHECK(s.by_status.empty());
  CHECK(s.errors_by_kind.empty());
  CHECK(s.skipped_by_reason.empty());
  CHECK(s.top_hosts.empty());
  CHECK(s.first_started_at.empty());
  CHECK(s.last_finished_at.empty());
  CHECK(s.duration_s == 0);
}

TEST_CASE("query: stats count pages, outcomes, links, skips, hosts and crawl time",
          "[storage][query][stats]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("crawl.db");
  storage::PageWrite home = page("http://a.test/", 200, 1000);
  home.links = {link("http://a.test/next", true),
                link("http://z.test/", false, "out_of_scope"),
                link("http://z.test/2", false, "out_of_scope"),
                link("http://z.test/3", false, "out_of_scope"),
                link("http://a.test/nf", false, "nofollow"),
                link("http://a.test/nf2", false, "nofollow"),
                link("http://a.test/why", false, "")};
  crawl(path, {home, page("http://a.test/missing", 404, 50), page("http://b.test/", 200, 2000),
               page("http://b.test/moved", 301, 0), page("http://c.test/", 0, 0, "timeout"),
               page("http://c.test/2", 0, 0, "timeout"), page("http://d.test/", 0, 0, "dns")});
  {
    auto db = must(storage::open_for_writing(path));
    storage_test::exec(db.get(),
                       "INSERT INTO crawls(started_at, finished_at, status) VALUES "
                       "('2024-01-01T00:00:00.000Z', '2024-01-01T00:01:30.000Z', 'interrupted'), "
                       "('2024-01-02T00:00:00.000Z', '2024-01-02T00:00:10.500Z', 'finished'), "
                       "('2024-01-03T00:00:00.000Z', NULL, 'running')");
  }

  auto db = must(storage::open_for_reading(path));
  auto s = must(storage::collect_stats(db.get()));
  CHECK(s.pages == 7);
  CHECK(s.pages_ok == 2);
  CHECK(s.pages_failed == 3);
  CHECK(s.links == 7);
  CHECK(s.urls_known == 14);  // 7 fetched + 7 linked
  CHECK(s.queued == 1);       // http://a.test/next
  CHECK(s.skipped == 6);
  CHECK(s.hosts == 4);  // hosts of fetched pages only: z.test was never fetched
  CHECK(s.bytes == 3050);
  CHECK(s.by_status_class == Pairs{{"2xx", 2}, {"3xx", 1}, {"4xx", 1}, {"error", 3}});
  CHECK(s.by_status == Pairs{{"200", 2}, {"301", 1}, {"404", 1}});
  CHECK(s.errors_by_kind == Pairs{{"timeout", 2}, {"dns", 1}});
  CHECK(s.skipped_by_reason == Pairs{{"out_of_scope", 3}, {"nofollow", 2}, {"?", 1}});
  CHECK(s.top_hosts == Pairs{{"a.test", 2}, {"b.test", 2}, {"c.test", 2}, {"d.test", 1}});
  CHECK(s.first_started_at == "2024-01-01T00:00:00.000Z");
  CHECK(s.last_finished_at == "2024-01-02T00:00:10.500Z");
  CHECK(s.duration_s == Approx(100.5).margin(0.01));  // 90 s + 10.5 s; a running crawl adds 0
}

TEST_CASE("query: stats list the ten hosts with the most pages", "[storage][query][stats]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("crawl.db");
  std::vector<storage::PageWrite> batch;
  for (int i = 0; i < 12; ++i) {
    const std::string host = "h" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".test";
    batch.push_back(page("http://" + host + "/", 200, 1));
  }
  batch.push_back(page("http://h11.test/more", 200, 1));
  batch.push_back(page("http://h10.test/more", 200, 1));
  batch.push_back(page("http://h10.test/most", 200, 1));
  crawl(path, batch);

  auto db = must(storage::open_for_reading(path));
  auto s = must(storage::collect_stats(db.get()));
  CHECK(s.hosts == 12);
  CHECK(s.top_hosts == Pairs{{"h10.test", 3},
                             {"h11.test", 2},
                             {"h00.test", 1},
                             {"h01.test", 1},
                             {"h02.test", 1},
                             {"h03.test", 1},
                             {"h04.test", 1},
                             {"h05.test", 1},
                             {"h06.test", 1},
                             {"h07.test", 1}});
}

}  // namespace
