#pragma once
// RAII handles and small helpers for SQLite. The only place that sees SQLite result codes.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/releaser.h"
#include "common/result.h"

namespace storage {

using SqliteDb = std::unique_ptr<sqlite3, common::Releaser<sqlite3_close_v2>>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, common::Releaser<sqlite3_finalize>>;

// "what: sqlite message (code)" as a Storage error.
common::Unexpected<common::Error> error_from_sqlite(int rc, sqlite3* db, std::string_view what);

// Process-wide SQLite settings; call first thing in main(), before any other SQLite call
// (sqlite3_config works only before SQLite initializes; later it changes nothing). Turns off
// SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS): nothing here reads them, and they
// take a global mutex on every allocation and free. Returns false if it came too late.
bool configure_sqlite_library() noexcept;

enum class OpenMode { ReadOnly, ReadWrite, ReadWriteCreate };

// Opens `path`. ReadOnly also sets PRAGMA query_only. Every mode sets a busy timeout so a
// concurrent writer makes us wait (up to `busy_timeout_ms`) instead of failing at once.
[[nodiscard]] common::Result<SqliteDb> open_db(const std::string& path, OpenMode mode,
                                               int busy_timeout_ms = 10000);

// Runs one or more statements that return no rows.
[[nodiscard]] common::Result<void> exec(sqlite3* db, std::string_view sql);

[[nodiscard]] common::Result<SqliteStmt> prepare(sqlite3* db, std::string_view sql);

// Binding helpers; bind_text copies (SQLITE_TRANSIENT) so the argument may be a temporary.
void bind_text(sqlite3_stmt* stmt, int index, std::string_view text);
void bind_text_or_null(sqlite3_stmt* stmt, int index, std::string_view text);
void bind_int(sqlite3_stmt* stmt, int index, std::int64_t value);
void bind_int_or_null(sqlite3_stmt* stmt, int index, std::int64_t value, bool is_null);
std::string column_text(sqlite3_stmt* stmt, int index);

// Steps a statement expected to finish with SQLITE_DONE, then resets it for reuse.
[[nodiscard]] common::Result<void> step_done(sqlite3_stmt* stmt, std::string_view what);

// Returns a single integer from a one-row query ("SELECT count(*) ..."), or the error.
[[nodiscard]] common::Result<std::int64_t> query_int(sqlite3* db, std::string_view sql);

}  // namespace storage
