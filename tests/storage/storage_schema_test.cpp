// Tests storage/sqlite_handles.h and storage/schema.h.

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "storage/schema.h"
#include "storage/sqlite_handles.h"
#include "storage/url_keys.h"
#include "storage_test_support.h"

namespace {

using storage::OpenMode;
using storage_test::must;
using storage_test::query_int;
using storage_test::query_text;
using storage_test::TempDir;

bool has_text(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The names of a table's columns, comma-separated, in declaration order.
std::string columns_of(sqlite3* db, const std::string& table) {
  auto stmt = must(storage::prepare(db, "SELECT name FROM pragma_table_info(?) ORDER BY cid"));
  storage::bind_text(stmt.get(), 1, table);
  std::string names;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    if (!names.empty()) names += ',';
    names += storage::column_text(stmt.get(), 0);
  }
  return names;
}

// A database with only `PRAGMA user_version = version` set (and a table, so it is a real file).
void make_versioned_db(const std::string& path, int version) {
  auto db = storage_test::open_raw(path);
  storage_test::exec(db.get(),
                     "CREATE TABLE other(x); PRAGMA user_version = " + std::to_string(version));
}

// ---------------------------------------------------------------------------------------------
// sqlite_handles.h

TEST_CASE("sqlite_handles: error_from_sqlite names what failed, SQLite's message and the code",
          "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  REQUIRE_FALSE(storage::exec(db.get(), "SELECT * FROM missing_table"));

  common::Error with_db = storage::error_from_sqlite(SQLITE_ERROR, db.get(), "read things").error;
  CHECK(with_db.code == common::ErrorCode::Storage);
  CHECK(with_db.context == "read things: no such table: missing_table (1)");

  common::Error without_db = storage::error_from_sqlite(SQLITE_BUSY, nullptr, "commit").error;
  CHECK(without_db.code == common::ErrorCode::Storage);
  CHECK(without_db.context == "commit: database is locked (5)");
}

TEST_CASE("sqlite_handles: only ReadWriteCreate creates a missing database file",
          "[storage][sqlite_handles]") {
  TempDir dir;
  const std::string path = dir.file("new.db");

  auto read_only = storage::open_db(path, OpenMode::ReadOnly);
  REQUIRE_FALSE(read_only);
  CHECK(read_only.error().code == common::ErrorCode::Storage);
  CHECK(has_text(read_only.error().context, "cannot open database '" + path + "'"));
  CHECK(has_text(read_only.error().context, "unable to open database file"));

  auto read_write = storage::open_db(path, OpenMode::ReadWrite);
  REQUIRE_FALSE(read_write);
  CHECK(has_text(read_write.error().context, path));
  CHECK(dir.listing().empty());

  auto created = storage::open_db(path, OpenMode::ReadWriteCreate);
  REQUIRE(created);
  CHECK(storage_test::file_exists(path));
}

TEST_CASE("sqlite_handles: a ReadOnly connection sets query_only and refuses writes",
          "[storage][sqlite_handles]") {
  TempDir dir;
  const std::string path = dir.file("t.db");
  storage_test::exec(storage_test::open_raw(path).get(),
                     "CREATE TABLE t(x); INSERT INTO t VALUES (7)");

  auto db = must(storage::open_db(path, OpenMode::ReadOnly));
  CHECK(query_int(db.get(), "PRAGMA query_only") == 1);
  CHECK(query_int(db.get(), "SELECT x FROM t") == 7);
  auto write = storage::exec(db.get(), "INSERT INTO t VALUES (8)");
  REQUIRE_FALSE(write);
  CHECK(has_text(write.error().context, "readonly"));
  CHECK(query_int(db.get(), "SELECT count(*) FROM t") == 1);

  auto writable = must(storage::open_db(path, OpenMode::ReadWrite));
  CHECK(query_int(writable.get(), "PRAGMA query_only") == 0);
}

TEST_CASE("sqlite_handles: the busy timeout makes a blocked writer wait, then fail as locked",
          "[storage][sqlite_handles]") {
  TempDir dir;
  const std::string path = dir.file("t.db");
  auto holder = storage_test::open_raw(path);
  storage_test::exec(holder.get(), "CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");

  constexpr int kTimeoutMs = 150;
  auto waiter = must(storage::open_db(path, OpenMode::ReadWrite, kTimeoutMs));
  const auto start = std::chrono::steady_clock::now();
  auto r = storage::exec(waiter.get(), "INSERT INTO t VALUES (2)");
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r);
  CHECK(has_text(r.error().context, "database is locked"));
  CHECK(waited >= std::chrono::milliseconds(kTimeoutMs - 20));  // it waited, not failed at once

  storage_test::exec(holder.get(), "COMMIT");
  must(storage::exec(waiter.get(), "INSERT INTO t VALUES (2)"));
  CHECK(query_int(holder.get(), "SELECT count(*) FROM t") == 2);
}

TEST_CASE("sqlite_handles: exec runs several statements and reports the first failure",
          "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  must(storage::exec(db.get(),
                     "CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);"));
  CHECK(query_int(db.get(), "SELECT sum(x) FROM t") == 3);

  auto r = storage::exec(db.get(), "INSERT INTO t VALUES (3); INSERT INTO nope VALUES (4)");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == common::ErrorCode::Storage);
  CHECK(r.error().context == "no such table: nope (1)");
}

TEST_CASE("sqlite_handles: prepare reports SQLite's syntax error", "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  auto stmt = storage::prepare(db.get(), "SELEC 1");
  REQUIRE_FALSE(stmt);
  CHECK(stmt.error().code == common::ErrorCode::Storage);
  CHECK(stmt.error().context == "prepare: near \"SELEC\": syntax error (1)");

  // Only the view's bytes are compiled: the text after it is not part of the statement.
  const std::string text = "SELECT 41 + 1; garbage";
  auto partial = must(storage::prepare(db.get(), std::string_view(text).substr(0, 13)));
  REQUIRE(sqlite3_step(partial.get()) == SQLITE_ROW);
  CHECK(sqlite3_column_int(partial.get(), 0) == 42);
}

TEST_CASE("sqlite_handles: binding helpers copy text and map empty or flagged values to NULL",
          "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  storage_test::exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c, d)");
  auto insert = must(storage::prepare(db.get(), "INSERT INTO t VALUES (?,?,?,?,?)"));

  storage::bind_int(insert.get(), 1, 1);
  {
    std::string temporary = "copied";
    storage::bind_text(insert.get(), 2, temporary);
    temporary.assign("overwritten before the step");
  }
  storage::bind_text_or_null(insert.get(), 3, "");
  storage::bind_int_or_null(insert.get(), 4, 5, /*is_null=*/true);
  storage::bind_int_or_null(insert.get(), 5, (std::int64_t{1} << 40), /*is_null=*/false);
  must(storage::step_done(insert.get(), "insert"));

  storage::bind_int(insert.get(), 1, 2);
  storage::bind_text(insert.get(), 2, std::string_view("a\0b", 3));  // embedded NUL kept
  storage::bind_text_or_null(insert.get(), 3, "x");
  storage::bind_int_or_null(insert.get(), 4, -3, false);
  storage::bind_int(insert.get(), 5, -1);
  must(storage::step_done(insert.get(), "insert"));  // reused after the reset in step_done

  CHECK(query_text(db.get(), "SELECT a FROM t WHERE id = 1") == "copied");
  CHECK(query_int(db.get(), "SELECT b IS NULL AND c IS NULL FROM t WHERE id = 1") == 1);
  CHECK(query_int(db.get(), "SELECT d FROM t WHERE id = 1") == (std::int64_t{1} << 40));
  CHECK(query_int(db.get(), "SELECT length(CAST(a AS BLOB)) FROM t WHERE id = 2") == 3);
  CHECK(query_text(db.get(), "SELECT b FROM t WHERE id = 2") == "x");
  CHECK(query_int(db.get(), "SELECT c + d FROM t WHERE id = 2") == -4);

  auto select = must(storage::prepare(db.get(), "SELECT a, b FROM t WHERE id = 2"));
  REQUIRE(sqlite3_step(select.get()) == SQLITE_ROW);
  CHECK(storage::column_text(select.get(), 0) == std::string("a\0b", 3));
  CHECK(storage::column_text(select.get(), 1) == "x");
  auto null_row = must(storage::prepare(db.get(), "SELECT b FROM t WHERE id = 1"));
  REQUIRE(sqlite3_step(null_row.get()) == SQLITE_ROW);
  CHECK(storage::column_text(null_row.get(), 0).empty());
}

TEST_CASE("sqlite_handles: step_done reports a constraint failure and leaves the statement usable",
          "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  storage_test::exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  auto insert = must(storage::prepare(db.get(), "INSERT INTO t VALUES (?)"));
  storage::bind_int(insert.get(), 1, 1);
  must(storage::step_done(insert.get(), "insert t"));

  auto duplicate = storage::step_done(insert.get(), "insert t");
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().code == common::ErrorCode::Storage);
  CHECK(has_text(duplicate.error().context, "insert t: UNIQUE constraint failed: t.id"));

  storage::bind_int(insert.get(), 1, 2);
  must(storage::step_done(insert.get(), "insert t"));
  CHECK(query_int(db.get(), "SELECT count(*) FROM t") == 2);
}

TEST_CASE("sqlite_handles: query_int returns the first column, 0 for no row, or the error",
          "[storage][sqlite_handles]") {
  TempDir dir;
  auto db = storage_test::open_raw(dir.file("t.db"));
  storage_test::exec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (9007199254740993), (5)");
  CHECK(must(storage::query_int(db.get(), "SELECT max(x) FROM t")) == 9007199254740993);
  CHECK(must(storage::query_int(db.get(), "SELECT x FROM t WHERE x < 0")) == 0);
  auto error = storage::query_int(db.get(), "SELECT y FROM t");
  REQUIRE_FALSE(error);
  CHECK(error.error().context == "prepare: no such column: y (1)");
}

// ---------------------------------------------------------------------------------------------
// schema.h

struct TableColumns {
  const char* table;
  const char* columns;
};

// The schema is a public interface (README "Database schema"): a change here needs a migration.
const std::vector<TableColumns> kSchemaV1 = {
    {"urls", "id,url,host,depth,state,reason,attempts,discovered_at"},
    {"frontier", "seq,url_id,url,depth"},
    {"pages",
     "url_id,url,final_url,status,content_type,depth,title,size_bytes,fetched_at,error,"
     "error_detail,redirect_count,fetch_ms,attempts,links_out,noindex,canonical"},
    {"link_edges", "from_id,to_id,follow"},
    {"links", "from_url,to_url"},
    {"crawls", "id,started_at,finished_at,status,options,pages"},
    {"page_text", "title,body"},  // added by migration 1 -> 2
    {"robots",                    // added by migration 2 -> 3
     "origin,url,status,fetched_at,access,body,crawl_delay,error,error_detail,attempts"},
    {"sitemaps", "origin,url"},               // added by migration 2 -> 3
    {"page_text_rows", "url_id,title,body"},  // added by migration 5 -> 6
};

TEST_CASE("schema: open_for_writing creates the current schema in WAL mode", "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  auto db = must(storage::open_for_writing(path));

  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(storage::kSchemaVersion == 8);
  CHECK(query_text(db.get(), "PRAGMA journal_mode") == "wal");
  CHECK(query_int(db.get(), "PRAGMA synchronous") == 1);  // NORMAL
  CHECK(query_int(db.get(), "PRAGMA foreign_keys") == 0);
  for (const auto& expected : kSchemaV1) {
    DYNAMIC_SECTION("table " << expected.table) {
      CHECK(columns_of(db.get(), expected.table) == expected.columns);
    }
  }
  CHECK(query_int(db.get(),
                  "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                  "('frontier_by_url', 'pages_by_status', 'link_edges_by_target')") == 3);
  CHECK(query_text(db.get(), "SELECT type FROM sqlite_master WHERE name = 'links'") == "view");
  // Internal (migration 3 -> 4): a new database's ids are a sequence; (7 -> 8) the older
  // hash -> id keys in runs, two empty ones in a new database (its first crawl drops them).
  CHECK(columns_of(db.get(), "url_keys_run_1") == "hash,id");
  CHECK(columns_of(db.get(), "url_keys_run_2") == "hash,id");
  CHECK(query_int(
            db.get(),
            "SELECT count(*) FROM sqlite_master WHERE name IN ('url_keys', 'url_keys_mid')") == 0);
  // Migration 6 -> 7: the newest level in the order its keys came.
  CHECK(columns_of(db.get(), "url_keys_new") == "seq,hash,id");
  CHECK(query_text(db.get(), "SELECT group_concat(scheme) FROM url_ids") == "sequence");
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'automerge'") == 16);
  // Migration 4 -> 5: merges stay incremental (crisismerge above automerge).
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
  // Migration 5 -> 6: a commit's pending terms up to 8 MiB before FTS5 writes a segment.
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'hashsize'") == 8388608);
  // AUTOINCREMENT: frontier.seq is never reused, which the coordinator's cursor relies on.
  CHECK(query_int(db.get(), "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'") ==
        1);
}

TEST_CASE("schema: a new database gets 16 KiB pages, and an existing one keeps its page size",
          "[storage][schema]") {
  TempDir dir;
  {
    auto db = must(storage::open_for_writing(dir.file("new.db")));
    CHECK(query_int(db.get(), "PRAGMA page_size") == storage::kNewDatabasePageSize);
    CHECK(storage::kNewDatabasePageSize == 16384);
  }
  const std::string old_path = dir.file("old.db");
  {
    // A database made with SQLite's default page size and some data, as before 16 KiB.
    auto db = must(storage::open_db(old_path, OpenMode::ReadWriteCreate));
    storage_test::exec(db.get(), "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL");
    must(storage::migrate(db.get()));
    storage_test::exec(db.get(),
                       "INSERT INTO crawls(started_at, status) VALUES ('2024-01-01', 'finished')");
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto db = must(storage::open_for_writing(old_path));
    CHECK(query_int(db.get(), "PRAGMA page_size") == 4096);
    CHECK(query_text(db.get(), "SELECT status FROM crawls") == "finished");
    CHECK(query_text(db.get(), "PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("schema: re-opening an existing database keeps its data and does not migrate again",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  std::int64_t schema_cookie = 0;
  {
    auto db = must(storage::open_for_writing(path));
    storage_test::exec(db.get(),
                       "INSERT INTO crawls(started_at, status) VALUES ('2024-01-01', 'finished')");
    schema_cookie = query_int(db.get(), "PRAGMA schema_version");
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto db = must(storage::open_for_writing(path));
    CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
    // schema_version counts schema changes: re-running a migration would bump it.
    CHECK(query_int(db.get(), "PRAGMA schema_version") == schema_cookie);
    CHECK(query_text(db.get(), "SELECT status FROM crawls") == "finished");
  }
  // migrate() on an up-to-date database is a no-op, too.
  auto db = must(storage::open_for_writing(path));
  must(storage::migrate(db.get()));
  CHECK(query_int(db.get(), "PRAGMA schema_version") == schema_cookie);
}

TEST_CASE("schema: a failed migration rolls back and leaves the version alone",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  auto db = storage_test::open_raw(path);
  // A user_version-0 database that already has a table the first migration creates.
  storage_test::exec(db.get(), "CREATE TABLE urls(x)");

  auto r = storage::migrate(db.get());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == common::ErrorCode::Storage);
  CHECK(has_text(r.error().context, "migration 0 -> 1"));
  CHECK(has_text(r.error().context, "table urls already exists"));
  CHECK(query_int(db.get(), "PRAGMA user_version") == 0);
  CHECK(query_int(db.get(), "SELECT count(*) FROM sqlite_master") == 1);  // only our urls
  CHECK(sqlite3_get_autocommit(db.get()) == 1);                           // no open transaction

  auto opened = storage::open_for_writing(path);
  REQUIRE_FALSE(opened);
  CHECK(has_text(opened.error().context, "table urls already exists"));
}

TEST_CASE("schema: a database with a newer schema version is refused with a clear message",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("future.db");
  const int newer = storage::kSchemaVersion + 1;
  make_versioned_db(path, newer);
  const std::string expected_version = "schema version " + std::to_string(newer);

  SECTION("for writing") {
    auto db = storage::open_for_writing(path);
    REQUIRE_FALSE(db);
    CHECK(db.error().code == common::ErrorCode::Storage);
    CHECK(has_text(db.error().context, expected_version));
    CHECK(has_text(db.error().context, "newer than this crawler understands"));
    CHECK(has_text(db.error().context, "upgrade the crawler"));
  }
  SECTION("for reading") {
    auto db = storage::open_for_reading(path);
    REQUIRE_FALSE(db);
    CHECK(db.error().code == common::ErrorCode::Storage);
    CHECK(has_text(db.error().context, "'" + path + "'"));
    CHECK(has_text(db.error().context, expected_version));
    CHECK(has_text(db.error().context, "newer than this crawler understands"));
  }
  SECTION("by migrate") {
    auto db = storage_test::open_raw(path);
    auto r = storage::migrate(db.get());
    REQUIRE_FALSE(r);
    CHECK(has_text(r.error().context, expected_version));
  }
  // Refusing it did not downgrade or migrate it.
  auto raw = storage_test::open_raw(path);
  CHECK(query_int(raw.get(), "PRAGMA user_version") == newer);
  CHECK(query_int(raw.get(), "SELECT count(*) FROM sqlite_master WHERE name = 'pages'") == 0);
}

TEST_CASE("schema: open_for_reading a missing file fails clearly and does not create it",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("missing.db");
  auto db = storage::open_for_reading(path);
  REQUIRE_FALSE(db);
  CHECK(db.error().code == common::ErrorCode::BadInput);
  CHECK(db.error().context == "no database at '" + path + "' (run `crawler crawl` first)");
  CHECK_FALSE(storage_test::file_exists(path));
  CHECK(dir.listing().empty());  // no -wal, -shm or -journal either

  const std::string nested = dir.file("no/such/dir/crawl.db");
  auto in_missing_dir = storage::open_for_reading(nested);
  REQUIRE_FALSE(in_missing_dir);
  CHECK(in_missing_dir.error().code == common::ErrorCode::BadInput);
  CHECK(dir.listing().empty());
}

TEST_CASE("schema: open_for_reading refuses files that are not crawl databases, unchanged",
          "[storage][schema]") {
  TempDir dir;
  SECTION("an empty file") {
    const std::string path = dir.file("empty.db");
    storage_test::write_bytes(path, "");
    auto db = storage::open_for_reading(path);
    REQUIRE_FALSE(db);
    CHECK(db.error().code == common::ErrorCode::Storage);
    CHECK(db.error().context == "'" + path + "' is not a crawl database (no schema)");
    CHECK(storage_test::read_bytes(path) == "");
  }
  SECTION("an SQLite database without our schema") {
    const std::string path = dir.file("other.db");
    make_versioned_db(path, 0);
    const auto before = storage_test::read_bytes(path);
    auto db = storage::open_for_reading(path);
    REQUIRE_FALSE(db);
    CHECK(has_text(db.error().context, "is not a crawl database (no schema)"));
    CHECK(storage_test::read_bytes(path) == before);
  }
  SECTION("a text file") {
    const std::string path = dir.file("seeds.txt");
    const std::string text(2048, 'x');  // longer than an SQLite header
    storage_test::write_bytes(path, text);
    auto db = storage::open_for_reading(path);
    REQUIRE_FALSE(db);
    CHECK(db.error().code == common::ErrorCode::Storage);
    CHECK(has_text(db.error().context, "'" + path + "' is not a crawl database"));
    CHECK(has_text(db.error().context, "file is not a database"));
    CHECK(storage_test::read_bytes(path) == text);
  }
}

TEST_CASE("schema: open_for_writing refuses a file that is not a database and leaves it alone",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  const std::string text(4096, 'n');
  storage_test::write_bytes(path, text);
  auto db = storage::open_for_writing(path);
  REQUIRE_FALSE(db);
  CHECK(db.error().code == common::ErrorCode::Storage);
  CHECK(has_text(db.error().context, "cannot use '" + path + "' as a database"));
  CHECK(has_text(db.error().context, "file is not a database"));
  CHECK(storage_test::read_bytes(path) == text);

  auto in_missing_dir = storage::open_for_writing(dir.file("no/such/dir/crawl.db"));
  REQUIRE_FALSE(in_missing_dir);
  CHECK(has_text(in_missing_dir.error().context, dir.file("no/such/dir/crawl.db")));
}

TEST_CASE("schema: open_for_reading gives a read-only view that sees a running writer's commits",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  auto writer = must(storage::open_for_writing(path));
  storage_test::exec(writer.get(),
                     "INSERT INTO crawls(started_at, status) VALUES ('2024-01-01', 'running')");

  auto reader = must(storage::open_for_reading(path));
  CHECK(query_int(reader.get(), "PRAGMA query_only") == 1);
  CHECK(query_text(reader.get(), "SELECT status FROM crawls") == "running");
  auto write = storage::exec(reader.get(), "DELETE FROM crawls");
  REQUIRE_FALSE(write);
  CHECK(has_text(write.error().context, "readonly"));

  // WAL: a commit made while the reader is open is visible to its next statement.
  storage_test::exec(writer.get(), "UPDATE crawls SET status = 'finished'");
  CHECK(query_text(reader.get(), "SELECT status FROM crawls") == "finished");
}

TEST_CASE("schema: a database left by a closed writer opens for reading without changing it",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  {
    auto writer = must(storage::open_for_writing(path));
    storage_test::exec(writer.get(),
                       "INSERT INTO crawls(started_at, status) VALUES ('2024-01-01', 'finished')");
  }
  const auto before = storage_test::read_bytes(path);
  REQUIRE(before);
  {
    auto reader = must(storage::open_for_reading(path));
    CHECK(query_int(reader.get(), "SELECT count(*) FROM crawls") == 1);
  }
  CHECK(storage_test::read_bytes(path) == before);
}

// Two processes may open a new database at the same moment; the one that loses the race for
// the write lock must find the schema the winner created, not run migration 0 a second time.
TEST_CASE("schema: migrate re-checks the version once it holds the write lock",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("crawl.db");
  auto winner = storage_test::open_raw(path);
  auto loser = storage_test::open_raw(path);
  storage_test::exec(winner.get(), "BEGIN IMMEDIATE");

  // The loser reads user_version 0, then blocks on BEGIN IMMEDIATE; while it waits, the winner
  // gives up its lock and migrates the database itself.
  struct Race {
    sqlite3* winner;
    int calls = 0;
    bool winner_migrated = false;
  } race{winner.get()};
  sqlite3_busy_handler(
      loser.get(),
      [](void* arg, int) noexcept -> int {
        auto* r = static_cast<Race*>(arg);
        if (r->calls++ == 0) {
          (void)storage::exec(r->winner, "ROLLBACK");
          r->winner_migrated = static_cast<bool>(storage::migrate(r->winner));
        }
        return r->calls < 100 ? 1 : 0;
      },
      &race);

  auto r = storage::migrate(loser.get());
  REQUIRE(race.winner_migrated);
  REQUIRE(race.calls >= 1);  // the race really happened
  if (!r) FAIL("loser: " << r.error().context);
  CHECK(query_int(loser.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(sqlite3_get_autocommit(loser.get()) == 1);
}

}  // namespace

// What migration 3 -> 4 adds, dropped to make an older database from a new one.
constexpr const char* kDropV4 =
    "DROP TABLE url_keys; DROP TABLE url_keys_mid; DROP TABLE url_keys_new; DROP TABLE url_ids; ";
using storage_test::kUndoV6;
using storage_test::kUndoV7;
using storage_test::kUndoV8;

TEST_CASE("schema: a version 1 database is upgraded to the current version in place, data kept",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    // A v1 database: the current schema without what migrations 1 -> 2 ... 5 -> 6 add.
    auto db = must(storage::open_for_writing(path));
    must(storage::exec(
        db.get(), std::string(kUndoV8) + kUndoV7 + kUndoV6 + kDropV4 +
                      "DROP TABLE page_text; DROP TABLE robots; DROP TABLE sitemaps; "
                      "PRAGMA user_version = 1; "
                      "INSERT INTO crawls(started_at, status) VALUES ('2026-01-01', 'finished')"));
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(columns_of(db.get(), "page_text") == "title,body");
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
  CHECK(columns_of(db.get(), "sitemaps") == "origin,url");
  CHECK(query_int(db.get(), "SELECT count(*) FROM crawls") == 1);
}

TEST_CASE("schema: a version 2 database is upgraded in place, pages and text kept",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("v2.db");
  {
    auto db = must(storage::open_for_writing(path));
    must(storage::exec(
        db.get(), std::string(kUndoV8) + kUndoV7 + kUndoV6 + kDropV4 +
                      "DROP TABLE robots; DROP TABLE sitemaps; PRAGMA user_version = 2; "
                      "DELETE FROM page_text_config WHERE k IN ('automerge', 'crisismerge'); "
                      "INSERT INTO pages(url_id, url, depth, fetched_at, status) "
                      "VALUES (1, 'http://a.test/', 0, '2026-01-01', 200); "
                      "INSERT INTO page_text(rowid, title, body) VALUES (1, 'Kept', 'words')"));
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(columns_of(db.get(), "robots") ==
        "origin,url,status,fetched_at,access,body,crawl_delay,error,error_detail,attempts");
  CHECK(query_int(db.get(), "SELECT count(*) FROM robots") == 0);
  CHECK(query_text(db.get(), "SELECT url FROM pages") == "http://a.test/");
  CHECK(query_text(db.get(), "SELECT title FROM page_text WHERE page_text MATCH 'words'") == "Kept");
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'automerge'") == 16);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
}

TEST_CASE(
    "schema: a version 3 database with URLs keeps its hash ids, and an empty one gets a sequence",
    "[storage][schema]") {
  TempDir dir;
  const bool with_urls = GENERATE(true, false);
  const std::string path = dir.file("v3.db");
  const std::int64_t a = common::url_id("http://a.test/"), b = common::url_id("http://a.test/b");
  {
    auto db = must(storage::open_for_writing(path));
    std::string sql = std::string(kUndoV8) + kUndoV7 + kUndoV6 + kDropV4 +
                      "PRAGMA user_version = 3; "
                      "DELETE FROM page_text_config WHERE k IN ('automerge', 'crisismerge'); ";
    if (with_urls) {  // as schema 3 stored them: urls.id = the URL's hash
      sql += "INSERT INTO urls(id, url, host, depth, state, discovered_at) VALUES (" +
             std::to_string(a) + ", 'http://a.test/', 'a.test', 0, 'done', 't'), (" +
             std::to_string(b) + ", 'http://a.test/b', 'a.test', 1, 'queued', 't');";
    }
    must(storage::exec(db.get(), sql));
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(query_text(db.get(), "SELECT scheme FROM url_ids") == (with_urls ? "hash" : "sequence"));
  CHECK(query_int(db.get(), "SELECT count(*) FROM url_ids") == 1);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
  if (with_urls) {
    CHECK(query_int(db.get(), "SELECT count(*) FROM url_keys_run_1 WHERE hash = id") == 2);
    CHECK(storage_test::id_of(db.get(), "http://a.test/b") == b);
  } else {
    CHECK(query_int(db.get(), "SELECT count(*) FROM url_keys_run_1") == 0);
  }
}

TEST_CASE("schema: a version 4 database gets incremental FTS5 merges, its text kept",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("v4.db");
  {
    // Version 4 as it shipped: FTS5's default crisismerge (no row in page_text_config).
    auto db = must(storage::open_for_writing(path));
    must(storage::exec(
        db.get(), std::string(kUndoV8) + kUndoV7 + kUndoV6 +
                      "DELETE FROM page_text_config WHERE k = 'crisismerge'; "
                      "PRAGMA user_version = 4; "
                      "INSERT INTO page_text(rowid, title, body) VALUES (7, 'Kept', 'words')"));
  }
  {
    auto db = must(storage::open_db(path, OpenMode::ReadOnly));
    REQUIRE(query_int(db.get(), "SELECT count(*) FROM page_text_config WHERE k = 'crisismerge'") ==
            0);
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'automerge'") == 16);
  CHECK(query_text(db.get(), "SELECT title FROM page_text WHERE page_text MATCH 'words'") ==
        "Kept");
  // New text is indexed under the new setting (its row first, as write_texts stores it).
  must(storage::exec(db.get(),
                     "INSERT INTO page_text_rows(url_id, title, body) VALUES (8, 'New', 'more'); "
                     "INSERT INTO page_text(rowid, title, body) VALUES (8, 'New', 'more')"));
  CHECK(query_text(db.get(), "SELECT title FROM page_text WHERE page_text MATCH 'more'") == "New");
}

TEST_CASE("schema: a version 5 database keeps its text, now in page_text_rows, still searchable",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("v5.db");
  {
    auto db = must(storage::open_for_writing(path));
    must(storage::exec(db.get(), std::string(kUndoV8) + kUndoV7 + kUndoV6 +
                                     "PRAGMA user_version = 5; "
                                     "INSERT INTO page_text(rowid, title, body) VALUES "
                                     "(9, 'Nine', 'kept words'), (4, 'Four', 'other words')"));
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> notices;
  auto db = must(storage::open_for_writing(
      path, [&](std::int64_t from, std::int64_t to) { notices.emplace_back(from, to); }));
  CHECK(notices ==
        std::vector<std::pair<std::int64_t, std::int64_t>>{{5, storage::kSchemaVersion}});
  // Once: a current database is not upgraded again, and says nothing.
  CHECK(must(storage::open_for_writing(path, [&](std::int64_t, std::int64_t) {
          notices.emplace_back(0, 0);
        })).get() != nullptr);
  // ... and neither is a new one.
  (void)must(storage::open_for_writing(
      dir.file("new.db"), [&](std::int64_t, std::int64_t) { notices.emplace_back(0, 0); }));
  CHECK(notices.size() == 1);
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(columns_of(db.get(), "page_text") == "title,body");
  CHECK(query_text(db.get(), "SELECT group_concat(url_id || ':' || title) FROM page_text_rows") ==
        "4:Four,9:Nine");
  // FTS5 has no page_text_content of its own any more: the text is stored once.
  CHECK(query_int(db.get(),
                  "SELECT count(*) FROM sqlite_master WHERE name = 'page_text_content'") == 0);
  CHECK(query_text(db.get(), "SELECT title FROM page_text WHERE page_text MATCH 'kept'") == "Nine");
  CHECK(query_int(db.get(), "SELECT count(*) FROM page_text WHERE page_text MATCH 'words'") == 2);
  CHECK(query_text(db.get(),
                   "SELECT snippet(page_text, 1, '[', ']', '...', 4) FROM page_text "
                   "WHERE page_text MATCH 'other'") == "[other] words");
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'automerge'") == 16);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'crisismerge'") == 64);
  CHECK(query_int(db.get(), "SELECT v FROM page_text_config WHERE k = 'hashsize'") == 8388608);
  // The index agrees with its rows: with rank 1, FTS5 also checks it against every row of an
  // external-content table (without it, SQLite 3.40 checks the index alone).
  must(storage::exec(db.get(),
                     "INSERT INTO page_text(page_text, rank) VALUES ('integrity-check', 1)"));
}

TEST_CASE("schema: a version 6 database keeps its newest url keys, now in the order they came",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("v6.db");
  const std::int64_t a = common::url_id("http://a.test/"), b = common::url_id("http://a.test/b"),
                     c = common::url_id("http://a.test/c");
  {
    // Version 6 as it shipped: url_keys_new keyed by the hash, holding three keys.
    auto db = must(storage::open_for_writing(path));
    must(storage::exec(db.get(),
                       std::string(kUndoV8) + kUndoV7 + "PRAGMA user_version = 6; " +
                           "INSERT INTO urls(id, url, host, depth, state, discovered_at) VALUES "
                           "(1, 'http://a.test/', 'a.test', 0, 'done', 't'), "
                           "(2, 'http://a.test/b', 'a.test', 1, 'queued', 't'), "
                           "(3, 'http://a.test/c', 'a.test', 1, 'queued', 't'); "
                           "INSERT INTO url_keys_new(hash, id) VALUES (" +
                           std::to_string(a) + ", 1), (" + std::to_string(b) + ", 2), (" +
                           std::to_string(c) + ", 3);"));
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(columns_of(db.get(), "url_keys_new") == "seq,hash,id");
  CHECK(query_text(db.get(),
                   "SELECT group_concat(id) FROM (SELECT id FROM url_keys_new ORDER BY "
                   "seq)") == "1,2,3");
  CHECK(query_int(db.get(), "SELECT count(*) FROM sqlite_master WHERE name = 'url_keys_new_v6'") ==
        0);
  // Found by readers and by the crawl's lookup, and the next URL gets the next id.
  CHECK(storage_test::id_of(db.get(), "http://a.test/b") == 2);
  auto keys = must(storage::UrlKeys::create(db.get()));
  must(storage::exec(db.get(), "BEGIN IMMEDIATE"));
  must(keys->begin());
  CHECK(must(keys->find(c)) == 3);
  CHECK(must(keys->find(a)) == 1);
  CHECK(keys->new_id(common::url_id("http://a.test/d")) == 4);
  must(storage::exec(db.get(), "ROLLBACK"));
}

TEST_CASE("schema: a version 7 database keeps its url keys, now the first two runs",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.file("v7.db");
  std::vector<std::int64_t> hashes;
  for (int i = 1; i <= 5; ++i) {
    hashes.push_back(common::url_id("http://a.test/" + std::to_string(i)));
  }
  {
    // Version 7 as it shipped: two keys in url_keys, two in url_keys_mid, one in url_keys_new.
    auto db = must(storage::open_for_writing(path));
    std::string sql = std::string(kUndoV8) + "PRAGMA user_version = 7; ";
    for (int i = 1; i <= 5; ++i) {
      sql += "INSERT INTO urls(id, url, host, depth, state, discovered_at) VALUES (" +
             std::to_string(i) + ", 'http://a.test/" + std::to_string(i) +
             "', 'a.test', 1, 'queued', 't'); ";
      const char* level = i <= 2 ? "url_keys" : i <= 4 ? "url_keys_mid" : "url_keys_new";
      sql += std::string("INSERT INTO ") + level + "(hash, id) VALUES (" +
             std::to_string(hashes[static_cast<std::size_t>(i - 1)]) + ", " + std::to_string(i) +
             "); ";
    }
    must(storage::exec(db.get(), sql));
  }
  {
    // A reader (crawler links, query) does not migrate: it finds the keys in the old levels.
    auto reader = must(storage::open_db(path, OpenMode::ReadOnly));
    for (int i = 1; i <= 5; ++i) {
      CHECK(must(storage::read_url_id(reader.get(), hashes[static_cast<std::size_t>(i - 1)])) == i);
    }
    CHECK(must(storage::read_url_id(reader.get(), common::url_id("http://a.test/6"))) == 0);
    CHECK(query_int(reader.get(), "PRAGMA user_version") == 7);
  }
  auto db = must(storage::open_for_writing(path));
  CHECK(query_int(db.get(), "PRAGMA user_version") == storage::kSchemaVersion);
  CHECK(query_text(db.get(),
                   "SELECT group_concat(id) FROM (SELECT id FROM url_keys_run_1 ORDER "
                   "BY id)") == "1,2");
  CHECK(query_text(db.get(),
                   "SELECT group_concat(id) FROM (SELECT id FROM url_keys_run_2 ORDER "
                   "BY id)") == "3,4");
  CHECK(query_int(db.get(), "SELECT count(*) FROM url_keys_new") == 1);
  CHECK(query_int(
            db.get(),
            "SELECT count(*) FROM sqlite_master WHERE name IN ('url_keys', 'url_keys_mid')") == 0);
  // Found by readers and by the crawl's lookup, and the next URL gets the next id.
  for (int i = 1; i <= 5; ++i) {
    CHECK(storage_test::id_of(db.get(), "http://a.test/" + std::to_string(i)) == i);
  }
  auto keys = must(storage::UrlKeys::create(db.get()));
  CHECK(keys->counts().runs == 2);
  CHECK(keys->counts().in_runs == 4);
  must(storage::exec(db.get(), "BEGIN IMMEDIATE"));
  must(keys->begin());
  for (int i = 1; i <= 5; ++i)
    CHECK(must(keys->find(hashes[static_cast<std::size_t>(i - 1)])) == i);
  CHECK(keys->new_id(common::url_id("http://a.test/6")) == 6);
  must(storage::exec(db.get(), "ROLLBACK"));
}

// configure_sqlite_library must run before SQLite initializes: in a fresh child process it
// turns the memory statistics off (SQLite then reports no memory in use); once SQLite is up
// it reports false and changes nothing. Fork, because this test binary's SQLite may be up.
TEST_CASE("configure_sqlite_library turns memory statistics off, only before SQLite starts") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    if (sqlite3_shutdown() != SQLITE_OK) code = 10;  // as a fresh process would have it
    if (!storage::configure_sqlite_library()) code = 11;
    auto db = storage::open_db(":memory:", OpenMode::ReadWriteCreate);
    if (!db ||
        !storage::exec(db->get(), "CREATE TABLE t(x); INSERT INTO t VALUES (zeroblob(99999))")) {
      code = 12;
    }
    sqlite3_int64 used = -1;
    sqlite3_int64 highwater = -1;
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &highwater, 0);
    if (used != 0) code = 13;
    if (storage::configure_sqlite_library()) code = 14;  // initialized now: too late
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // Here SQLite keeps its statistics (no configure call before it started).
  auto db = must(storage::open_db(":memory:", OpenMode::ReadWriteCreate));
  CHECK_FALSE(storage::configure_sqlite_library());
  sqlite3_int64 used = 0;
  sqlite3_int64 highwater = 0;
  sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &highwater, 0);
  CHECK(used > 0);
}
