#include "storage/robots_store.h"

#include "storage/frontier_store.h"

namespace storage {

using common::Result;

const char* robots_access_name(RobotsAccess access) {
  switch (access) {
    case RobotsAccess::Rules: return "rules";
    case RobotsAccess::AllowAll: return "allow_all";
    case RobotsAccess::DisallowAll: return "disallow_all";
  }
  return "disallow_all";
}

std::optional<RobotsAccess> robots_access_from_name(std::string_view name) {
  if (name == "rules") return RobotsAccess::Rules;
  if (name == "allow_all") return RobotsAccess::AllowAll;
  if (name == "disallow_all") return RobotsAccess::DisallowAll;
  return std::nullopt;
}

Result<std::unique_ptr<SqliteRobotsStore>> SqliteRobotsStore::create(SqliteDb db) {
  std::unique_ptr<SqliteRobotsStore> store(new SqliteRobotsStore(std::move(db)));
  auto stmt = prepare(store->db_.get(),
                      "SELECT url, status, access, body, crawl_delay, error, error_detail, "
                      "attempts, (julianday(fetched_at) - 2440587.5) * 86400.0 "
                      "FROM robots WHERE origin = ?");
  if (!stmt) return common::error_of(stmt);
  store->select_ = std::move(*stmt);
  return store;
}

Result<std::optional<RobotsRecord>> SqliteRobotsStore::load(const std::string& origin) {
  sqlite3_stmt* s = select_.get();
  bind_text(s, 1, origin);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s);
    return std::optional<RobotsRecord>();
  }
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    return error_from_sqlite(rc, db_.get(), "select robots");
  }
  RobotsRecord record;
  record.origin = origin;
  record.url = column_text(s, 0);
  record.status = sqlite3_column_int(s, 1);
  // A row this build does not understand is treated as unreachable: fetched again.
  record.access = robots_access_from_name(column_text(s, 2)).value_or(RobotsAccess::DisallowAll);
  record.body = column_text(s, 3);
  record.crawl_delay_s =
      sqlite3_column_type(s, 4) == SQLITE_NULL ? -1.0 : sqlite3_column_double(s, 4);
  record.error = column_text(s, 5);
  record.error_detail = column_text(s, 6);
  record.attempts = sqlite3_column_int(s, 7);
  // Unix seconds; 0 (long ago: fetched again) if the text is not a date SQLite reads.
  record.fetched_at_s = sqlite3_column_double(s, 8);
  sqlite3_reset(s);
  return std::optional<RobotsRecord>(std::move(record));
}

Result<void> write_robots(sqlite3* db, const RobotsRecord& record) {
  if (record.access == RobotsAccess::DisallowAll) {
    // Unreachable, but fetched before with an answer: the earlier rules stay in use (RFC 9309
    // 2.4), for another 24 hours from this attempt; the row records the failed attempt.
    auto keep = prepare(db,
                        "UPDATE robots SET fetched_at = ?, error = ?, error_detail = ?, "
                        "attempts = ? WHERE origin = ? AND access <> 'disallow_all'");
    if (!keep) return common::error_of(keep);
    sqlite3_stmt* k = keep->get();
    bind_text(k, 1, iso8601_utc(record.fetched_at_s));
    bind_text(k, 2, "refresh_failed");
    std::string how = record.status > 0 ? "HTTP " + std::to_string(record.status) : record.error;
    if (!record.error_detail.empty()) how += (how.empty() ? "" : ": ") + record.error_detail;
    bind_text(k, 3, how);
    bind_int(k, 4, record.attempts);
    bind_text(k, 5, record.origin);
    if (auto r = step_done(k, "keep robots"); !r) return r;
    if (sqlite3_changes(db) > 0) return {};
  }
  auto insert = prepare(db,
                        "INSERT OR REPLACE INTO robots(origin, url, status, fetched_at, access, "
                        "body, crawl_delay, error, error_detail, attempts) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?)");
  if (!insert) return common::error_of(insert);
  sqlite3_stmt* s = insert->get();
  bind_text(s, 1, record.origin);
  bind_text(s, 2, record.url);
  bind_int_or_null(s, 3, record.status, record.status == 0);
  bind_text(s, 4, iso8601_utc(record.fetched_at_s));
  bind_text(s, 5, robots_access_name(record.access));
  bind_text_or_null(s, 6, record.body);
  if (record.crawl_delay_s >= 0) {
    sqlite3_bind_double(s, 7, record.crawl_delay_s);
  } else {
    sqlite3_bind_null(s, 7);
  }
  bind_text_or_null(s, 8, record.error);
  bind_text_or_null(s, 9, record.error_detail);
  bind_int(s, 10, record.attempts);
  if (auto r = step_done(s, "insert robots"); !r) return r;
  auto clear = prepare(db, "DELETE FROM sitemaps WHERE origin = ?");
  if (!clear) return common::error_of(clear);
  bind_text(clear->get(), 1, record.origin);
  if (auto r = step_done(clear->get(), "delete sitemaps"); !r) return r;
  auto add = prepare(db, "INSERT OR IGNORE INTO sitemaps(origin, url) VALUES (?, ?)");
  if (!add) return common::error_of(add);
  for (const auto& url : record.sitemaps) {
    bind_text(add->get(), 1, record.origin);
    bind_text(add->get(), 2, url);
    if (auto r = step_done(add->get(), "insert sitemap"); !r) return r;
  }
  return {};
}

}  // namespace storage
