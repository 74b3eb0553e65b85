#pragma once
// The results database: schema, migrations, and opening it for a crawl.
//
// The schema is a public interface (users write SQL against it; README "Database schema").
// It changes only through a new entry in the migration list in schema.cpp, which bumps
// PRAGMA user_version; an older database is upgraded in place when a crawl opens it.

#include <functional>
#include <string>

#include "common/result.h"
#include "storage/sqlite_handles.h"

namespace storage {

// The user_version this build writes. A database with a newer version is refused.
inline constexpr int kSchemaVersion = 8;
// The page size of a database open_for_writing creates. 16 KiB instead of SQLite's 4 KiB:
// the crawl's big tables (urls, frontier, link_edges) take about a quarter of the pages, so a
// commit's hash-ordered inserts dirty fewer of them (bench_store_sim, docs/PERFORMANCE.md (e)).
inline constexpr int kNewDatabasePageSize = 16384;

// Told, under the write lock and before the first step, that a database made by an older
// crawler (schema `from`, at least 1) is being upgraded to `to`: some steps take minutes on a
// large database (5 -> 6 copies the page text and rebuilds its index).
using UpgradeNotice = std::function<void(std::int64_t from, std::int64_t to)>;

// Applies every migration the database lacks, in one transaction.
[[nodiscard]] common::Result<void> migrate(sqlite3* db, const UpgradeNotice& notice = {});

// Opens (creating if needed) the database for writing: WAL journal, synchronous=NORMAL,
// migrated to kSchemaVersion. Errors name the path and SQLite's reason.
[[nodiscard]] common::Result<SqliteDb> open_for_writing(const std::string& path,
                                                        const UpgradeNotice& notice = {});

// Opens an existing database read-only (PRAGMA query_only) and checks that it is a crawl
// database this build understands.
[[nodiscard]] common::Result<SqliteDb> open_for_reading(const std::string& path);

}  // namespace storage
