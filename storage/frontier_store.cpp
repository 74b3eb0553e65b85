#include "storage/frontier_store.h"

#include <cmath>
#include <ctime>

#include "common/hash.h"
#include "storage/url_keys.h"

namespace storage {

using common::Result;

std::string iso8601_utc(double unix_s) {
  const long long total_ms = std::llround(unix_s * 1000.0);
  auto whole = static_cast<std::time_t>(total_ms / 1000);
  int millis = static_cast<int>(total_ms % 1000);
  if (millis < 0) millis = 0;
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string now_iso8601() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000);
  return buf;
}

Result<std::unique_ptr<SqliteFrontier>> SqliteFrontier::create(SqliteDb db) {
  std::unique_ptr<SqliteFrontier> frontier(new SqliteFrontier(std::move(db)));
  auto stmt = prepare(frontier->db_.get(),
                      "SELECT seq, url_id, url, depth FROM frontier WHERE seq > ? "
                      "ORDER BY seq LIMIT ?");
  if (!stmt) return common::error_of(stmt);
  frontier->select_batch_ = std::move(*stmt);
  return frontier;
}

Result<std::vector<FrontierEntry>> SqliteFrontier::next_batch(std::int64_t after_seq,
                                                              std::size_t limit) {
  std::vector<FrontierEntry> entries;
  sqlite3_stmt* s = select_batch_.get();
  bind_int(s, 1, after_seq);
  bind_int(s, 2, static_cast<std::int64_t>(limit));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    FrontierEntry e;
    e.seq = sqlite3_column_int64(s, 0);
    e.url_id = sqlite3_column_int64(s, 1);
    e.url = column_text(s, 2);
    e.depth = sqlite3_column_int(s, 3);
    entries.push_back(std::move(e));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db_.get(), "read frontier");
  return entries;
}

Result<std::int64_t> SqliteFrontier::size() {
  return query_int(db_.get(), "SELECT count(*) FROM frontier");
}

Result<std::int64_t> add_seeds(sqlite3* db, const std::vector<Seed>& seeds) {
  auto select = prepare(db, "SELECT state FROM urls WHERE id = ?");
  if (!select) return common::error_of(select);
  auto insert = prepare(db,
                        "INSERT INTO urls(id, url, host, depth, state, discovered_at) "
                        "VALUES (?,?,?,0,'queued',?) ON CONFLICT(id) DO UPDATE SET "
                        "depth = 0, state = 'queued', reason = NULL");
  if (!insert) return common::error_of(insert);
  auto queue = prepare(db, "INSERT INTO frontier(url_id, url, depth) VALUES (?,?,0)");
  if (!queue) return common::error_of(queue);
  auto keys = UrlKeys::create(db);
  if (!keys) return common::error_of(keys);
  if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) return common::error_of(r);
  auto fail = [db](common::Error error) {
    (void)exec(db, "ROLLBACK");
    return common::Unexpected<common::Error>(std::move(error));
  };
  if (auto r = (*keys)->begin(); !r) return fail(r.error());
  std::int64_t queued = 0;
  const std::string now = now_iso8601();
  for (const auto& seed : seeds) {
    const std::int64_t hash = common::url_id(seed.url);
    auto known = (*keys)->find(hash);
    if (!known) return fail(known.error());
    const std::int64_t id = *known != 0 ? *known : (*keys)->new_id(hash);
    bind_int(select->get(), 1, id);
    int rc = sqlite3_step(select->get());
    std::string state = rc == SQLITE_ROW ? column_text(select->get(), 0) : "";
    sqlite3_reset(select->get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return fail(error_from_sqlite(rc, db, "select seed").error);
    if (!state.empty() && state != "skipped") continue;  // queued or fetched already
    bind_int(insert->get(), 1, id);
    bind_text(insert->get(), 2, seed.url);
    bind_text(insert->get(), 3, seed.host);
    bind_text(insert->get(), 4, now);
    bind_int(queue->get(), 1, id);
    bind_text(queue->get(), 2, seed.url);
    auto r = step_done(insert->get(), "insert seed");
    if (r) r = step_done(queue->get(), "queue seed");
    if (r && *known == 0) r = (*keys)->add(hash, id);
    if (!r) return fail(r.error());
    ++queued;
  }
  if (auto r = (*keys)->maintain(); !r) return fail(r.error());
  if (auto r = exec(db, "COMMIT"); !r) {
    if (sqlite3_get_autocommit(db) == 0) (void)exec(db, "ROLLBACK");
    return common::error_of(r);
  }
  return queued;
}

Result<std::int64_t> begin_crawl(sqlite3* db, const std::string& options_json) {
  auto stmt = prepare(db,
                      "INSERT INTO crawls(started_at, status, options) VALUES (?, 'running', ?)");
  if (!stmt) return common::error_of(stmt);
  bind_text(stmt->get(), 1, now_iso8601());
  bind_text(stmt->get(), 2, options_json);
  if (auto r = step_done(stmt->get(), "begin crawl"); !r) return common::error_of(r);
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db));
}

Result<void> finish_crawl(sqlite3* db, std::int64_t crawl_id, const std::string& status,
                          std::int64_t pages) {
  auto stmt =
      prepare(db, "UPDATE crawls SET finished_at = ?, status = ?, pages = ? WHERE id = ?");
  if (!stmt) return common::error_of(stmt);
  bind_text(stmt->get(), 1, now_iso8601());
  bind_text(stmt->get(), 2, status);
  bind_int(stmt->get(), 3, pages);
  bind_int(stmt->get(), 4, crawl_id);
  return step_done(stmt->get(), "finish crawl");
}

Result<void> clear_crawl(sqlite3* db) {
  auto r =
      exec(db,
           "BEGIN IMMEDIATE; DELETE FROM link_edges; DELETE FROM pages; DELETE FROM frontier; "
           "DELETE FROM urls; DELETE FROM crawls; "
           "INSERT INTO page_text(page_text) VALUES ('delete-all'); DELETE FROM page_text_rows; "
           "DELETE FROM robots; DELETE FROM sitemaps;");
  if (r) r = clear_url_keys(db);
  if (r) r = exec(db, "UPDATE url_ids SET scheme = 'sequence', merges = merges + 1; COMMIT;");
  // sqlite3_exec stops at the first failing statement: roll back what came before it rather
  // than leave the transaction (and the write lock) open on this connection.
  if (!r && sqlite3_get_autocommit(db) == 0) (void)exec(db, "ROLLBACK");
  return r;
}

}  // namespace storage
