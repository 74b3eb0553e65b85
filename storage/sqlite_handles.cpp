#include "storage/sqlite_handles.h"

namespace storage {

using common::ErrorCode;
using common::make_error;
using common::Result;

common::Unexpected<common::Error> error_from_sqlite(int rc, sqlite3* db, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (" + std::to_string(rc) + ")";
  return make_error(ErrorCode::Storage, std::move(message));
}

bool configure_sqlite_library() noexcept {
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

Result<SqliteDb> open_db(const std::string& path, OpenMode mode, int busy_timeout_ms) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case OpenMode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case OpenMode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case OpenMode::ReadWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);  // sqlite3_open_v2 hands out a handle even on failure; we own it
  if (rc != SQLITE_OK) return error_from_sqlite(rc, db.get(), "cannot open database '" + path + "'");
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  if (mode == OpenMode::ReadOnly) {
    if (auto r = exec(db.get(), "PRAGMA query_only = 1"); !r) return common::error_of(r);
  }
  return db;
}

Result<void> exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string context = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return make_error(ErrorCode::Storage, context + " (" + std::to_string(rc) + ")");
  }
  return {};
}

Result<SqliteStmt> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return error_from_sqlite(rc, db, "prepare");
  return stmt;
}

void bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void bind_text_or_null(sqlite3_stmt* stmt, int index, std::string_view text) {
  if (text.empty()) {
    sqlite3_bind_null(stmt, index);
  } else {
    bind_text(stmt, index, text);
  }
}

void bind_int(sqlite3_stmt* stmt, int index, std::int64_t value) {
  sqlite3_bind_int64(stmt, index, value);
}

void bind_int_or_null(sqlite3_stmt* stmt, int index, std::int64_t value, bool is_null) {
  if (is_null) {
    sqlite3_bind_null(stmt, index);
  } else {
    sqlite3_bind_int64(stmt, index, value);
  }
}

std::string column_text(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt, index)));
}

Result<void> step_done(sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    return error_from_sqlite(rc, sqlite3_db_handle(stmt), what);
  }
  return {};
}

Result<std::int64_t> query_int(sqlite3* db, std::string_view sql) {
  auto stmt = prepare(db, sql);
  if (!stmt) return common::error_of(stmt);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return static_cast<std::int64_t>(sqlite3_column_int64(stmt->get(), 0));
  if (rc == SQLITE_DONE) return std::int64_t{0};
  return error_from_sqlite(rc, db, "query");
}

}  // namespace storage
