#include "storage/schema.h"

#include <sys/stat.h>

#include <array>
#include <string_view>

namespace storage {

using common::ErrorCode;
using common::make_error;
using common::Result;

namespace {

// Migration N takes a database from user_version N to N + 1. Append only; never edit a
// migration that has shipped.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    // 0 -> 1: the initial schema.
    R"sql(
CREATE TABLE urls (
  id            INTEGER PRIMARY KEY,  -- 63-bit hash of url (common/hash.h)
  url           TEXT NOT NULL,        -- normalized absolute URL
  host          TEXT NOT NULL,
  depth         INTEGER NOT NULL,     -- link distance from the nearest seed
  state         TEXT NOT NULL,        -- queued | done | failed | skipped
  reason        TEXT,                 -- why skipped or failed: out_of_scope, max_depth, nofollow, ...
  attempts      INTEGER NOT NULL DEFAULT 0,
  discovered_at TEXT NOT NULL
);
CREATE TABLE frontier (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,  -- discovery order; never reused
  url_id INTEGER NOT NULL,
  url    TEXT NOT NULL,
  depth  INTEGER NOT NULL
);
CREATE INDEX frontier_by_url ON frontier(url_id);
CREATE TABLE pages (
  url_id         INTEGER PRIMARY KEY,
  url            TEXT NOT NULL,
  final_url      TEXT,
  status         INTEGER,             -- HTTP status; NULL when the fetch failed (see error)
  content_type   TEXT,
  depth          INTEGER NOT NULL,
  title          TEXT,
  size_bytes     INTEGER,
  fetched_at     TEXT NOT NULL,       -- ISO 8601 UTC
  error          TEXT,                -- NULL, or dns, connect, timeout, tls, too_large, ...
  error_detail   TEXT,
  redirect_count INTEGER NOT NULL DEFAULT 0,
  fetch_ms       INTEGER,
  attempts       INTEGER NOT NULL DEFAULT 1,
  links_out      INTEGER NOT NULL DEFAULT 0,
  noindex        INTEGER NOT NULL DEFAULT 0,
  canonical      TEXT
);
CREATE INDEX pages_by_status ON pages(status);
CREATE TABLE link_edges (
  from_id INTEGER NOT NULL,
  to_id   INTEGER NOT NULL,
  follow  INTEGER NOT NULL,           -- 1 if the crawler may follow it (in scope, not nofollow)
  PRIMARY KEY (from_id, to_id)
) WITHOUT ROWID;
CREATE INDEX link_edges_by_target ON link_edges(to_id);
CREATE VIEW links AS
  SELECT f.url AS from_url, t.url AS to_url
  FROM link_edges e JOIN urls f ON f.id = e.from_id JOIN urls t ON t.id = e.to_id;
CREATE TABLE crawls (
  id          INTEGER PRIMARY KEY,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  status      TEXT NOT NULL,          -- running | finished | interrupted | failed
  options     TEXT,                   -- the crawl's options, as JSON
  pages       INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 1 -> 2: full-text search over page titles and visible text (`crawler search`).
    R"sql(
CREATE VIRTUAL TABLE page_text USING fts5(
  title, body,                        -- rowid = pages.url_id
  tokenize = 'unicode61 remove_diacritics 2'
);
)sql",
    // 2 -> 3: robots.txt per origin (RFC 9309) and the sitemaps it lists.
    R"sql(
CREATE TABLE robots (
  origin       TEXT PRIMARY KEY,      -- scheme://host[:port]
  url          TEXT NOT NULL,         -- the robots.txt URL after redirects
  status       INTEGER,               -- HTTP status; NULL when no response (see error)
  fetched_at   TEXT NOT NULL,         -- ISO 8601 UTC
  access       TEXT NOT NULL,         -- rules | allow_all (4xx) | disallow_all (5xx, unreachable)
  body         TEXT,                  -- the first 500 KiB, as fetched
  crawl_delay  REAL,                  -- seconds, from the group that applies to our agent
  error        TEXT,
  error_detail TEXT,
  attempts     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE sitemaps (
  origin TEXT NOT NULL,               -- whose robots.txt named it
  url    TEXT NOT NULL,
  PRIMARY KEY (origin, url)
) WITHOUT ROWID;
)sql",
    // 3 -> 4: a URL's id is its place in discovery order, looked up through url_keys
    // (storage/url_keys.h). A database that already has URLs keeps its hash ids, and new
    // URLs get hash ids too (url_ids.scheme = 'hash'), so no row is rewritten. And FTS5
    // merges 16 segments of a level at a time instead of 4: each page's text is rewritten
    // at fewer levels as the index grows (scenario 3, docs/PERFORMANCE.md (e)), for
    // searches that read more segments.
    R"sql(
CREATE TABLE url_keys     (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL);
CREATE TABLE url_keys_mid (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL);
CREATE TABLE url_keys_new (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL);
CREATE TABLE url_ids (
  scheme TEXT NOT NULL,               -- one row: 'sequence' or 'hash'
  merges INTEGER NOT NULL DEFAULT 0   -- bumped whenever keys move between levels
);
INSERT INTO url_keys(hash, id) SELECT id, id FROM urls;
INSERT INTO page_text(page_text, rank) VALUES ('automerge', 16);
INSERT INTO url_ids(scheme) SELECT CASE
  WHEN EXISTS (SELECT 1 FROM urls) OR EXISTS (SELECT 1 FROM pages) THEN 'hash'
  ELSE 'sequence' END;
)sql",
    // 4 -> 5: FTS5 merges its segments a little at every commit again. Migration 3 -> 4 set
    // automerge to 16, FTS5's default crisismerge: a level that reached 16 segments was then
    // merged whole, at once, inside the commit that made the 16th, and each level up is 16
    // times larger (bench/fts_replay.py, scenario 3's text: 1.5-1.9 s for a commit whose
    // median is 0.07 s; a few levels on, longer than --watchdog, whose kill and retry would
    // have hit the same merge before the writer had a heartbeat). With crisismerge 64 the
    // automerge spreads that work over the commits that follow (docs/PERFORMANCE.md).
    R"sql(
INSERT INTO page_text(page_text, rank) VALUES ('crisismerge', 64);
)sql",
    // 5 -> 6: the text lives in page_text_rows, in the order pages are stored, and page_text
    // indexes it as an FTS5 external-content table (same columns, rowid = pages.url_id).
    // FTS5's own content table had url_id as its key: pages are stored in nearly, but not
    // exactly, url_id order, so every commit split and rewrote half-full leaves of 16 KiB
    // that hold three pages' text each, and the text was written 4-5 times over
    // (bench/wal_census.py: a quarter of the WAL late in scenario 3). Appended in storing
    // order, each leaf is written about once. The FTS5 index itself is rebuilt from the rows.
    // And FTS5 may hold 8 MiB of pending terms instead of 1 MiB before it writes a segment, so
    // a commit's text becomes one segment, not several that merges rewrite again
    // (bench/fts_replay.py: the same CPU, spread evenly over the tenths; docs/PERFORMANCE.md).
    R"sql(
CREATE TABLE page_text_rows (
  url_id INTEGER NOT NULL UNIQUE,     -- pages.url_id; rowid = storing order (url_id order here)
  title  TEXT,
  body   TEXT
);
INSERT INTO page_text_rows(url_id, title, body) SELECT rowid, title, body FROM page_text;
DROP TABLE page_text;
CREATE VIRTUAL TABLE page_text USING fts5(
  title, body,                        -- rowid = pages.url_id
  content = 'page_text_rows', content_rowid = 'url_id',
  tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO page_text(page_text, rank) VALUES ('hashsize', 8388608);
INSERT INTO page_text(page_text) VALUES ('rebuild');
INSERT INTO page_text(page_text, rank) VALUES ('automerge', 16);
INSERT INTO page_text(page_text, rank) VALUES ('crisismerge', 64);
)sql",
    // 6 -> 7: url_keys_new keeps its keys in the order they came (seq) instead of by hash.
    // The crawler looks them up in a copy in memory (storage/key_map.h), so the table needs
    // no key of its own: each commit appends its new URLs' keys at the right edge instead of
    // inserting them all over a B-tree of up to 250,000 rows, whose leaves every commit wrote
    // to the WAL again (docs/PERFORMANCE.md, (e)). Merges into url_keys_mid sort by hash.
    R"sql(
ALTER TABLE url_keys_new RENAME TO url_keys_new_v6;
CREATE TABLE url_keys_new (
  seq  INTEGER PRIMARY KEY,           -- the order keys came in
  hash INTEGER NOT NULL,
  id   INTEGER NOT NULL
);
INSERT INTO url_keys_new(hash, id) SELECT hash, id FROM url_keys_new_v6 ORDER BY id;
DROP TABLE url_keys_new_v6;
)sql",
    // 7 -> 8: url_keys_mid and url_keys become the first two runs of a size-tiered set of
    // tables (url_keys_run_N), each written once at its right edge, merged into a new run and
    // then dropped, never rewritten in place: merges into the two B-trees rewrote every leaf
    // they had, a cost per new URL that grew with the crawl (storage/url_keys.h,
    // docs/PERFORMANCE.md (e)). A rename: no row is copied. (Empty runs, as a new database
    // has, are dropped by the crawl.)
    R"sql(
ALTER TABLE url_keys RENAME TO url_keys_run_1;
ALTER TABLE url_keys_mid RENAME TO url_keys_run_2;
)sql",
};

// The database's user_version, or an error if it is newer than this build understands.
Result<std::int64_t> schema_version_to_migrate(sqlite3* db) {
  auto version = query_int(db, "PRAGMA user_version");
  if (!version) return version;
  if (*version > kSchemaVersion) {
    return make_error(ErrorCode::Storage,
                      "database schema version " + std::to_string(*version) +
                          " is newer than this crawler understands (" +
                          std::to_string(kSchemaVersion) + "); upgrade the crawler");
  }
  return version;
}

}  // namespace

Result<void> migrate(sqlite3* db, const UpgradeNotice& notice) {
  auto version = schema_version_to_migrate(db);
  if (!version) return common::error_of(version);
  if (*version == kSchemaVersion) return {};
  if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) return r;
  // Read the version again under the write lock: another connection may have migrated the
  // database between the first read and BEGIN IMMEDIATE (two processes opening a new file).
  version = schema_version_to_migrate(db);
  if (!version || *version == kSchemaVersion) {
    (void)exec(db, "ROLLBACK");
    if (!version) return common::error_of(version);
    return {};
  }
  if (notice && *version >= 1) notice(*version, kSchemaVersion);
  for (auto v = *version; v < kSchemaVersion; ++v) {
    if (auto r = exec(db, kMigrations[static_cast<std::size_t>(v)]); !r) {
      (void)exec(db, "ROLLBACK");
      return make_error(ErrorCode::Storage, "migration " + std::to_string(v) + " -> " +
                                                std::to_string(v + 1) + ": " + r.error().context);
    }
  }
  if (auto r = exec(db, "PRAGMA user_version = " + std::to_string(kSchemaVersion)); !r) {
    (void)exec(db, "ROLLBACK");
    return r;
  }
  return exec(db, "COMMIT");
}

Result<SqliteDb> open_for_writing(const std::string& path, const UpgradeNotice& notice) {
  auto db = open_db(path, OpenMode::ReadWriteCreate);
  if (!db) return db;
  // A new database gets kNewDatabasePageSize-byte pages; SQLite applies this only to an empty
  // database, so an existing one keeps its size. A file that is not a database fails below,
  // with the message that says so.
  (void)exec(db->get(), "PRAGMA page_size = " + std::to_string(kNewDatabasePageSize));
  // WAL lets `crawler query` read while the crawl writes; synchronous=NORMAL costs no fsync
  // per commit and in WAL mode still never corrupts the database (a power loss may drop the
  // last commits, which a resumed crawl simply fetches again).
  auto mode = query_int(db->get(), "PRAGMA journal_mode = WAL");
  if (!mode) {
    return make_error(ErrorCode::Storage, "cannot use '" + path + "' as a database: " +
                                              mode.error().context);
  }
  if (auto r = exec(db->get(), "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;"); !r) {
    return common::error_of(r);
  }
  if (auto r = migrate(db->get(), notice); !r) return common::error_of(r);
  return db;
}

Result<SqliteDb> open_for_reading(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorCode::BadInput, "no database at '" + path + "' (run `crawler crawl` first)");
  }
  auto db = open_db(path, OpenMode::ReadOnly);
  if (!db) return db;
  auto version = query_int(db->get(), "PRAGMA user_version");
  if (!version) {
    return make_error(ErrorCode::Storage, "'" + path + "' is not a crawl database: " +
                                              version.error().context);
  }
  if (*version == 0) {
    return make_error(ErrorCode::Storage, "'" + path + "' is not a crawl database (no schema)");
  }
  if (*version > kSchemaVersion) {
    return make_error(ErrorCode::Storage, "'" + path + "' has schema version " +
                                              std::to_string(*version) +
                                              ", newer than this crawler understands");
  }
  return db;
}

}  // namespace storage
