// Tests storage/frontier_store.h: SqliteFrontier, seeds, and the crawls table.

#include "storage/frontier_store.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <ctime>
#include <string>
#include <vector>

#include "common/hash.h"
#include "storage/page_store.h"
#include "storage/schema.h"
#include "storage_test_support.h"

namespace {

using storage::FrontierEntry;
using storage::Seed;
using storage_test::must;
using storage_test::query_int;
using storage_test::query_text;

Seed seed(const std::string& url) {
  const auto start = url.find("://") + 3;
  return {url, url.substr(start, url.find('/', start) - start)};
}

std::vector<std::string> urls_of(const std::vector<FrontierEntry>& entries) {
  std::vector<std::string> urls;
  for (const auto& e : entries) urls.push_back(e.url);
  return urls;
}

// "2024-01-31T23:59:59.123Z": ISO 8601 UTC with milliseconds.
bool is_iso8601_millis(const std::string& text) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool ok = shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0
                                    : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

// A crawl database with one writable connection, as the coordinator has before the crawl.
struct DbFixture {
  storage_test::TempDir dir;
  std::string path = dir.file("crawl.db");
  storage::SqliteDb db = must(storage::open_for_writing(path));

  std::unique_ptr<storage::SqliteFrontier> reader() {
    return must(
        storage::SqliteFrontier::create(must(storage::open_db(path, storage::OpenMode::ReadOnly))));
  }
  std::string state_of(const std::string& url) {
    return query_text(db.get(), "SELECT state FROM urls WHERE id = " +
                                    std::to_string(storage_test::id_of(db.get(), url)))
        .value_or("<none>");
  }
};

// ---------------------------------------------------------------------------------------------
// add_seeds

TEST_CASE("frontier: seeds are queued at depth 0 in the order given", "[storage][frontier]") {
  DbFixture f;
  auto queued = storage::add_seeds(f.db.get(), {seed("http://b.test/"), seed("http://a.test/x")});
  REQUIRE(queued);
  CHECK(*queued == 2);

  auto frontier = f.reader();
  auto entries = must(frontier->next_batch(0, 10));
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].url == "http://b.test/");
  CHECK(entries[0].url_id == storage_test::id_of(f.db.get(), "http://b.test/"));
  // A new database numbers URLs in discovery order (storage/url_keys.h).
  CHECK(entries[0].url_id == 1);
  CHECK(entries[1].url_id == 2);
  CHECK(entries[0].depth == 0);
  CHECK(entries[1].url == "http://a.test/x");
  CHECK(entries[1].depth == 0);
  CHECK(entries[0].seq < entries[1].seq);

  CHECK(query_text(f.db.get(), "SELECT host FROM urls WHERE url = 'http://a.test/x'") == "a.test");
  CHECK(query_int(f.db.get(),
                  "SELECT count(*) FROM urls WHERE state = 'queued' AND depth = 0 "
                  "AND reason IS NULL AND attempts = 0") == 2);
  auto discovered = query_text(f.db.get(), "SELECT discovered_at FROM urls LIMIT 1");
  REQUIRE(discovered);
  CHECK(is_iso8601_millis(*discovered));
}

TEST_CASE("frontier: a seed is queued once, also when a crawl is resumed", "[storage][frontier]") {
  DbFixture f;
  CHECK(must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/"),
                                             seed("http://a.test/")})) == 2);
  CHECK(must(storage::add_seeds(f.db.get(), {seed("http://b.test/"), seed("http://a.test/")})) ==
        0);
  CHECK(must(storage::add_seeds(f.db.get(), {})) == 0);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM frontier") == 2);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM urls") == 2);
}

TEST_CASE("frontier: a seed already fetched or failed is not queued again", "[storage][frontier]") {
  DbFixture f;
  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/")}));
  auto store = must(storage::SqlitePageStore::create(must(storage::open_for_writing(f.path)), {}));
  storage::PageWrite done;
  done.page.url_id = storage_test::id_of(f.db.get(), "http://a.test/");
  done.page.url = "http://a.test/";
  done.page.status = 200;
  storage::PageWrite failed;
  failed.page.url_id = storage_test::id_of(f.db.get(), "http://b.test/");
  failed.page.url = "http://b.test/";
  failed.page.error = "dns";
  (void)must(store->write_batch({done, failed}));
  REQUIRE(f.state_of("http://a.test/") == "done");
  REQUIRE(f.state_of("http://b.test/") == "failed");

  CHECK(must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/")})) ==
        0);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM frontier") == 0);
  CHECK(f.state_of("http://a.test/") == "done");
  CHECK(f.state_of("http://b.test/") == "failed");
}

TEST_CASE("frontier: a seed skipped by an earlier crawl is queued again at depth 0",
          "[storage][frontier]") {
  DbFixture f;
  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/")}));
  auto store = must(storage::SqlitePageStore::create(must(storage::open_for_writing(f.path)), {}));
  storage::PageWrite write;
  write.page.url_id = storage_test::id_of(f.db.get(), "http://a.test/");
  write.page.url = "http://a.test/";
  write.page.status = 200;
  write.links = {{"http://other.test/", "other.test", false, "out_of_scope"}};
  (void)must(store->write_batch({write}));
  REQUIRE(f.state_of("http://other.test/") == "skipped");

  // The next crawl widens the scope by seeding the skipped URL.
  CHECK(must(storage::add_seeds(f.db.get(), {seed("http://other.test/")})) == 1);
  CHECK(query_int(f.db.get(),
                  "SELECT count(*) FROM urls WHERE url = 'http://other.test/' AND "
                  "state = 'queued' AND depth = 0 AND reason IS NULL") == 1);
  auto entries = must(f.reader()->next_batch(0, 10));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].url == "http://other.test/");
  CHECK(entries[0].depth == 0);
}

TEST_CASE("frontier: add_seeds queues all seeds or none", "[storage][frontier]") {
  DbFixture f;
  storage_test::exec(
      f.db.get(),
      "CREATE TRIGGER poison BEFORE INSERT ON frontier WHEN NEW.url = 'http://bad.test/' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  auto r = storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://bad.test/")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == common::ErrorCode::Storage);
  CHECK(r.error().context.find("injected failure") != std::string::npos);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM frontier") == 0);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM urls") == 0);
  CHECK(sqlite3_get_autocommit(f.db.get()) == 1);  // rolled back, not left open
}

// ---------------------------------------------------------------------------------------------
// SqliteFrontier

TEST_CASE("frontier: next_batch pages through the queue in discovery order",
          "[storage][frontier]") {
  DbFixture f;
  std::vector<Seed> seeds;
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    seeds.push_back(seed("http://h" + std::to_string(i) + ".test/"));
    expected.push_back(seeds.back().url);
  }
  (void)must(storage::add_seeds(f.db.get(), seeds));
  auto frontier = f.reader();
  CHECK(must(frontier->size()) == 7);

  std::vector<std::string> seen;
  std::int64_t after = 0;
  int batches = 0;
  for (;;) {
    auto batch = must(frontier->next_batch(after, 3));
    if (batch.empty()) break;
    CHECK(batch.size() <= 3);
    for (const auto& e : batch) {
      CHECK(e.seq > after);
      after = e.seq;
      seen.push_back(e.url);
    }
    ++batches;
  }
  CHECK(seen == expected);
  CHECK(batches == 3);  // 3 + 3 + 1
  CHECK(must(frontier->next_batch(0, 0)).empty());
  CHECK(must(frontier->size()) == 7);  // reading does not consume
}

TEST_CASE("frontier: a reader on its own connection sees later commits and removals",
          "[storage][frontier]") {
  DbFixture f;
  auto frontier = f.reader();
  CHECK(must(frontier->size()) == 0);
  CHECK(must(frontier->next_batch(0, 10)).empty());

  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/")}));
  auto entries = must(frontier->next_batch(0, 10));
  CHECK(urls_of(entries) == std::vector<std::string>{"http://a.test/", "http://b.test/"});
  CHECK(must(frontier->size()) == 2);

  // The parser process stores a, which takes it out of the frontier and queues a link.
  auto store = must(storage::SqlitePageStore::create(must(storage::open_for_writing(f.path)), {}));
  storage::PageWrite write;
  write.page.url_id = storage_test::id_of(f.db.get(), "http://a.test/");
  write.page.url = "http://a.test/";
  write.page.status = 200;
  write.links = {{"http://a.test/next", "a.test", true, ""}};
  (void)must(store->write_batch({write}));

  CHECK(must(frontier->size()) == 2);
  auto after_write = must(frontier->next_batch(0, 10));
  CHECK(urls_of(after_write) == std::vector<std::string>{"http://b.test/", "http://a.test/next"});
  CHECK(after_write[1].depth == 1);
  // Only the new entry lies past the cursor the coordinator kept.
  CHECK(urls_of(must(frontier->next_batch(entries.back().seq, 10))) ==
        std::vector<std::string>{"http://a.test/next"});
}

TEST_CASE("frontier: seq numbers are never reused, even after the newest entry is removed",
          "[storage][frontier]") {
  DbFixture f;
  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/")}));
  const std::int64_t b_seq =
      query_int(f.db.get(), "SELECT seq FROM frontier WHERE url = 'http://b.test/'");
  storage_test::exec(f.db.get(), "DELETE FROM frontier WHERE url = 'http://b.test/'");

  (void)must(storage::add_seeds(f.db.get(), {seed("http://c.test/")}));
  auto entries = must(f.reader()->next_batch(b_seq, 10));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].url == "http://c.test/");
  CHECK(entries[0].seq > b_seq);
}

TEST_CASE("frontier: create fails on a database without the schema", "[storage][frontier]") {
  storage_test::TempDir dir;
  auto frontier = storage::SqliteFrontier::create(storage_test::open_raw(dir.file("empty.db")));
  REQUIRE_FALSE(frontier);
  CHECK(frontier.error().code == common::ErrorCode::Storage);
  CHECK(frontier.error().context.find("no such table: frontier") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// crawls table

TEST_CASE("frontier: begin_crawl and finish_crawl record one row per run", "[storage][frontier]") {
  DbFixture f;
  const std::int64_t first = must(storage::begin_crawl(f.db.get(), R"({"max_depth":2})"));
  const std::int64_t second = must(storage::begin_crawl(f.db.get(), "{}"));
  CHECK(second > first);

  const std::string row = " FROM crawls WHERE id = " + std::to_string(first);
  CHECK(query_text(f.db.get(), "SELECT status" + row) == "running");
  CHECK(query_text(f.db.get(), "SELECT options" + row) == R"({"max_depth":2})");
  CHECK_FALSE(query_text(f.db.get(), "SELECT finished_at" + row));
  CHECK(query_int(f.db.get(), "SELECT pages" + row) == 0);
  auto started = query_text(f.db.get(), "SELECT started_at" + row);
  REQUIRE(started);
  CHECK(is_iso8601_millis(*started));

  must(storage::finish_crawl(f.db.get(), first, "interrupted", 42));
  CHECK(query_text(f.db.get(), "SELECT status" + row) == "interrupted");
  CHECK(query_int(f.db.get(), "SELECT pages" + row) == 42);
  auto finished = query_text(f.db.get(), "SELECT finished_at" + row);
  REQUIRE(finished);
  CHECK(is_iso8601_millis(*finished));
  CHECK(*finished >= *started);  // ISO 8601 strings order as times

  // Only that run changed.
  const std::string other = " FROM crawls WHERE id = " + std::to_string(second);
  CHECK(query_text(f.db.get(), "SELECT status" + other) == "running");
  CHECK_FALSE(query_text(f.db.get(), "SELECT finished_at" + other));

  // An unknown id changes nothing (and is not an error).
  must(storage::finish_crawl(f.db.get(), second + 100, "finished", 1));
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM crawls WHERE status = 'finished'") == 0);
}

TEST_CASE("frontier: clear_crawl empties every table and keeps the schema", "[storage][frontier]") {
  DbFixture f;
  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/"), seed("http://b.test/")}));
  auto store = must(storage::SqlitePageStore::create(must(storage::open_for_writing(f.path)), {}));
  storage::PageWrite write;
  write.page.url_id = storage_test::id_of(f.db.get(), "http://a.test/");
  write.page.url = "http://a.test/";
  write.page.status = 200;
  write.page.title = "Gone";
  write.page.text = "searchable words";
  write.links = {{"http://a.test/1", "a.test", true, ""},
                 {"http://x.test/", "x.test", false, "out_of_scope"}};
  (void)must(store->write_batch({write}));
  (void)must(storage::begin_crawl(f.db.get(), "{}"));
  REQUIRE(query_int(f.db.get(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'words'") ==
          1);

  // (A crawl this small keeps its keys in url_keys_new: one in a run, as a longer crawl has.)
  storage_test::exec(
      f.db.get(),
      "CREATE TABLE url_keys_run_9 (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL); "
      "INSERT INTO url_keys_run_9 VALUES (42, 1000); "
      "CREATE TABLE url_keys_part_10 (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL)");
  must(storage::clear_crawl(f.db.get()));
  for (const char* table : {"urls", "frontier", "pages", "link_edges", "crawls", "page_text_rows",
                            "page_text_docsize", "url_keys_new"}) {
    DYNAMIC_SECTION(table) {
      CHECK(query_int(f.db.get(), std::string("SELECT count(*) FROM ") + table) == 0);
    }
  }
  // Every run and part table is gone (the crawl makes them again).
  CHECK(query_int(f.db.get(),
                  "SELECT count(*) FROM sqlite_master WHERE name GLOB 'url_keys_run_*' OR name "
                  "GLOB 'url_keys_part_*'") == 0);
  // The index forgot the text too, and agrees with its (now empty) rows.
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'words'") == 0);
  must(storage::exec(f.db.get(),
                     "INSERT INTO page_text(page_text, rank) VALUES ('integrity-check', 1)"));
  CHECK(query_int(f.db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(sqlite3_get_autocommit(f.db.get()) == 1);

  // A fresh crawl can start on it: the old seeds are new again.
  CHECK(must(storage::add_seeds(f.db.get(), {seed("http://a.test/")})) == 1);
}

TEST_CASE("frontier: a failed clear_crawl keeps every row and releases the write lock",
          "[storage][frontier]") {
  DbFixture f;
  (void)must(storage::add_seeds(f.db.get(), {seed("http://a.test/")}));
  (void)must(storage::begin_crawl(f.db.get(), "{}"));
  // link_edges and pages are cleared first; make the frontier step fail.
  storage_test::exec(
      f.db.get(),
      "INSERT INTO pages(url_id, url, depth, fetched_at) VALUES (1, 'http://p.test/', 0, 'x');"
      "CREATE TRIGGER keep BEFORE DELETE ON frontier "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

  auto r = storage::clear_crawl(f.db.get());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == common::ErrorCode::Storage);
  CHECK(r.error().context.find("injected failure") != std::string::npos);
  CHECK(sqlite3_get_autocommit(f.db.get()) == 1);  // no transaction left open
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM pages") == 1);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM frontier") == 1);
  CHECK(query_int(f.db.get(), "SELECT count(*) FROM crawls") == 1);

  // Another connection (the parser process) can write at once.
  auto other = must(storage::open_db(f.path, storage::OpenMode::ReadWrite, 50));
  must(
      storage::exec(other.get(), "INSERT INTO crawls(started_at, status) VALUES ('t', 'running')"));
}

TEST_CASE("frontier: now_iso8601 is the current UTC time with milliseconds",
          "[storage][frontier]") {
  // The same clock now_iso8601 reads: time() reads the kernel's coarse clock,
  // which can lag CLOCK_REALTIME by a tick, so across a second's boundary
  // `after` from time() could be a second behind `now` (a CI run failed so).
  auto realtime_seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
  };
  const std::time_t before = realtime_seconds();
  const std::string now = storage::now_iso8601();
  const std::time_t after = realtime_seconds();
  REQUIRE(is_iso8601_millis(now));

  auto format = [](std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf);
  };
  const std::string seconds = now.substr(0, 19);
  CHECK(seconds >= format(before));
  CHECK(seconds <= format(after));
}

}  // namespace
