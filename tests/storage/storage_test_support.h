#pragma once
// Helpers shared by the storage tests: a temporary directory that removes itself, byte-level
// file snapshots, and one-line queries that fail the test with SQLite's message.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "common/hash.h"
#include "common/result.h"
#include "storage/page_store.h"
#include "storage/sqlite_handles.h"
#include "storage/url_keys.h"

namespace storage_test {

// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/storage_test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) FAIL("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // The names of the files in the directory, e.g. {"crawl.db", "crawl.db-wal"}.
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

// The file's bytes, or nullopt when it does not exist.
inline std::optional<std::string> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

inline bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

// Unwraps a Result, failing the test with the error's context.
template <class T>
T must(common::Result<T> result) {
  if (!result) FAIL("unexpected error: " << result.error().context);
  return std::move(*result);
}

inline void must(const common::Result<void>& result) {
  if (!result) FAIL("unexpected error: " << result.error().context);
}

inline std::int64_t query_int(sqlite3* db, const std::string& sql) {
  auto value = storage::query_int(db, sql);
  if (!value) FAIL(sql << ": " << value.error().context);
  return *value;
}

// The first column of the first row as text; nullopt for NULL or no row.
inline std::optional<std::string> query_text(sqlite3* db, const std::string& sql) {
  auto stmt = storage::prepare(db, sql);
  if (!stmt) FAIL(sql << ": " << stmt.error().context);
  int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) FAIL(sql << ": " << sqlite3_errmsg(db));
  if (rc == SQLITE_DONE || sqlite3_column_type(stmt->get(), 0) == SQLITE_NULL) return std::nullopt;
  return storage::column_text(stmt->get(), 0);
}

// Undoes migration 7 -> 8 on a new database, for tests that make an older one from the current
// schema: the two hash-keyed levels under url_keys_new, as versions 4-7 shipped them.
inline constexpr const char* kUndoV8 =
    "ALTER TABLE url_keys_run_1 RENAME TO url_keys; "
    "ALTER TABLE url_keys_run_2 RENAME TO url_keys_mid; ";

// Undoes migration 6 -> 7 on a new database (after kUndoV8), for tests that make an older one from
// the current schema: url_keys_new keyed by the hash, as versions 4-6 shipped it.
inline constexpr const char* kUndoV7 =
    "DROP TABLE url_keys_new; "
    "CREATE TABLE url_keys_new (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL); ";

// Undoes migration 5 -> 6 on a new database (after kUndoV7), for tests that make an older one from
// the current schema: page_text as version 5 shipped it, an FTS5 table with its own content.
inline constexpr const char* kUndoV6 =
    "DROP TABLE page_text; DROP TABLE page_text_rows; "
    "CREATE VIRTUAL TABLE page_text USING fts5(title, body, "
    "tokenize = 'unicode61 remove_diacritics 2'); "
    "INSERT INTO page_text(page_text, rank) VALUES ('automerge', 16); "
    "INSERT INTO page_text(page_text, rank) VALUES ('crisismerge', 64); ";

inline void exec(sqlite3* db, const std::string& sql) {
  auto r = storage::exec(db, sql);
  if (!r) FAIL(sql << ": " << r.error().context);
}

// The urls.id the database gives `url`, looked up by the URL's hash in url_keys_new and the runs
// (storage/url_keys.h); 0 if it has none.
inline std::int64_t id_of(sqlite3* db, const std::string& url) {
  return must(storage::read_url_id(db, common::url_id(url)));
}

// `batch` with each page's url_id set to its URL's id, as a crawl's task carries it (the
// frontier row's url_id). A URL the database does not know gets its hash, an id no
// sequence reaches.
inline std::vector<storage::PageWrite> with_ids(sqlite3* db,
                                                std::vector<storage::PageWrite> batch) {
  for (auto& write : batch) {
    const std::int64_t id = id_of(db, write.page.url);
    write.page.url_id = id != 0 ? id : common::url_id(write.page.url);
  }
  return batch;
}

// A plain read-write connection (no migration), for inspecting or tampering with a database.
inline storage::SqliteDb open_raw(const std::string& path) {
  return must(storage::open_db(path, storage::OpenMode::ReadWriteCreate, 2000));
}

}  // namespace storage_test
