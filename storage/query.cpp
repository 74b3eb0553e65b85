#include "storage/query.h"

namespace storage {

using common::ErrorCode;
using common::make_error;
using common::Result;

namespace {

// True if `tail` holds another statement or text that is not SQL; false if only whitespace,
// semicolons and comments are left ("SELECT 1; -- note" is one statement). Compiling the
// tail runs nothing.
bool has_more_sql(sqlite3* db, const char* tail) {
  if (tail == nullptr || *tail == '\0') return false;
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, tail, -1, &raw, nullptr);
  SqliteStmt rest(raw);
  return rc != SQLITE_OK || rest != nullptr;
}

Result<std::vector<std::pair<std::string, std::int64_t>>> pairs(sqlite3* db, const char* sql) {
  auto stmt = prepare(db, sql);
  if (!stmt) return common::error_of(stmt);
  std::vector<std::pair<std::string, std::int64_t>> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    out.emplace_back(column_text(stmt->get(), 0), sqlite3_column_int64(stmt->get(), 1));
  }
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db, "stats");
  return out;
}

}  // namespace

Result<void> run_query(sqlite3* db, std::string_view sql,
                       const std::function<void(const std::vector<std::string>&)>& on_columns,
                       const std::function<bool(const Row&)>& on_row,
                       const std::vector<std::string>& params) {
  // No ATTACH: it could create files, and a query has no business outside this database.
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  const std::string text(sql);
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()) + 1, &raw, &tail);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    int offset = sqlite3_error_offset(db);
    if (offset >= 0) message += " (at byte " + std::to_string(offset) + ")";
    return make_error(ErrorCode::BadInput, message);
  }
  if (!stmt) return make_error(ErrorCode::BadInput, "empty query");
  if (has_more_sql(db, tail)) {
    return make_error(ErrorCode::BadInput,
                      "only one SQL statement at a time (found more after byte " +
                          std::to_string(tail - text.c_str()) + ")");
  }
  if (!sqlite3_stmt_readonly(stmt.get())) {
    return make_error(ErrorCode::BadInput,
                      "only read-only statements are allowed: the database was not changed");
  }
  if (static_cast<int>(params.size()) > sqlite3_bind_parameter_count(stmt.get())) {
    return make_error(ErrorCode::BadInput, "more parameters than the query has placeholders");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    rc = sqlite3_bind_text(stmt.get(), static_cast<int>(i + 1), params[i].data(),
                           static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) return make_error(ErrorCode::BadInput, sqlite3_errmsg(db));
  }
  std::vector<std::string> columns;
  const int n = sqlite3_column_count(stmt.get());
  for (int i = 0; i < n; ++i) columns.emplace_back(sqlite3_column_name(stmt.get(), i));
  on_columns(columns);
  Row row(static_cast<std::size_t>(n));
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    for (int i = 0; i < n; ++i) {
      Cell& cell = row[static_cast<std::size_t>(i)];
      const int type = sqlite3_column_type(stmt.get(), i);
      cell.is_null = type == SQLITE_NULL;
      cell.is_number = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
      cell.text = type == SQLITE_BLOB ? "<blob " + std::to_string(sqlite3_column_bytes(stmt.get(), i)) + " bytes>"
                                      : column_text(stmt.get(), i);
    }
    if (!on_row(row)) return {};
  }
  if (rc != SQLITE_DONE) return make_error(ErrorCode::BadInput, sqlite3_errmsg(db));
  return {};
}

Result<Stats> collect_stats(sqlite3* db) {
  Stats s;
  struct Scalar {
    std::int64_t* out;
    const char* sql;
  };
  const Scalar scalars[] = {
      {&s.pages, "SELECT count(*) FROM pages"},
      {&s.pages_ok, "SELECT count(*) FROM pages WHERE status BETWEEN 200 AND 299"},
      {&s.pages_failed, "SELECT count(*) FROM pages WHERE status IS NULL"},
      {&s.links, "SELECT count(*) FROM link_edges"},
      {&s.urls_known, "SELECT count(*) FROM urls"},
      {&s.queued, "SELECT count(*) FROM frontier"},
      {&s.skipped, "SELECT count(*) FROM urls WHERE state = 'skipped'"},
      {&s.hosts,
       "SELECT count(DISTINCT u.host) FROM pages p JOIN urls u ON u.id = p.url_id"},
      {&s.bytes, "SELECT coalesce(sum(size_bytes), 0) FROM pages"},
  };
  for (const auto& scalar : scalars) {
    auto v = query_int(db, scalar.sql);
    if (!v) return common::error_of(v);
    *scalar.out = *v;
  }
  struct List {
    std::vector<std::pair<std::string, std::int64_t>>* out;
    const char* sql;
  };
  const List lists[] = {
      {&s.by_status_class,
       "SELECT CASE WHEN status IS NULL THEN 'error' ELSE (status / 100) || 'xx' END AS c, "
       "count(*) FROM pages GROUP BY c ORDER BY c"},
      {&s.by_status,
       "SELECT status, count(*) FROM pages WHERE status IS NOT NULL GROUP BY status "
       "ORDER BY status"},
      {&s.errors_by_kind,
       "SELECT error, count(*) FROM pages WHERE error IS NOT NULL GROUP BY error "
       "ORDER BY count(*) DESC, error"},
      {&s.skipped_by_reason,
       "SELECT coalesce(reason, '?'), count(*) FROM urls WHERE state = 'skipped' "
       "GROUP BY reason ORDER BY count(*) DESC"},
      {&s.by_content_type,
       "SELECT coalesce(nullif(lower(trim(CASE WHEN instr(content_type, ';') > 0 "
       "THEN substr(content_type, 1, instr(content_type, ';') - 1) ELSE content_type END)), ''), "
       "'(none)') AS t, count(*) FROM pages GROUP BY t ORDER BY count(*) DESC, t LIMIT 10"},
      {&s.top_hosts,
       "SELECT u.host, count(*) FROM pages p JOIN urls u ON u.id = p.url_id GROUP BY u.host "
       "ORDER BY count(*) DESC, u.host LIMIT 10"},
  };
  for (const auto& list : lists) {
    auto v = pairs(db, list.sql);
    if (!v) return common::error_of(v);
    *list.out = std::move(*v);
  }
  auto stmt = prepare(db,
                      "SELECT min(started_at), max(finished_at), coalesce(sum("
                      "(julianday(coalesce(finished_at, started_at)) - julianday(started_at)) "
                      "* 86400.0), 0) FROM crawls");
  if (!stmt) return common::error_of(stmt);
  if (sqlite3_step(stmt->get()) == SQLITE_ROW) {
    s.first_started_at = column_text(stmt->get(), 0);
    s.last_finished_at = column_text(stmt->get(), 1);
    s.duration_s = sqlite3_column_double(stmt->get(), 2);
  }
  return s;
}

}  // namespace storage
