#include "storage/page_store.h"

#include <cmath>
#include <ctime>
#include <utility>

#include "common/hash.h"
#include "storage/frontier_store.h"

namespace storage {

using common::Result;

namespace {

struct UrlRow {
  bool found = false;
  int depth = 0;
  std::string state;
  std::string url;
  std::string host;
};

constexpr std::size_t kMaxTrackedPaths = 1'000'000;  // per_path_ entries, about 50 MB

// The key of a URL's scheme://host/path, query left out.
std::uint64_t path_key(std::string_view url) {
  return static_cast<std::uint64_t>(common::url_id(url.substr(0, url.find('?'))));
}

}  // namespace

Result<std::unique_ptr<SqlitePageStore>> SqlitePageStore::create(SqliteDb db,
                                                                  PageStoreOptions options) {
  std::unique_ptr<SqlitePageStore> store(new SqlitePageStore(std::move(db), options));
  if (auto r = store->prepare_statements(); !r) return common::error_of(r);
  if (auto r = store->load_counts(); !r) return common::error_of(r);
  return store;
}

// The limits count every URL queued so far, in this run and earlier ones (a resume).
Result<void> SqlitePageStore::load_counts() {
  if (options_.max_pages_per_host > 0) {
    auto s = prepare(db_.get(), "SELECT host, count(*) FROM urls WHERE state <> 'skipped' GROUP BY host");
    if (!s) return common::error_of(s);
    while (sqlite3_step(s->get()) == SQLITE_ROW) {
      per_host_[column_text(s->get(), 0)] = sqlite3_column_int64(s->get(), 1);
    }
  }
  if (options_.max_query_variants > 0) {
    auto s = prepare(db_.get(),
                     "SELECT url FROM urls WHERE state <> 'skipped' AND instr(url, '?') > 0");
    if (!s) return common::error_of(s);
    while (sqlite3_step(s->get()) == SQLITE_ROW) ++per_path_[path_key(column_text(s->get(), 0))];
  }
  return {};
}

std::string_view SqlitePageStore::admit(const std::string& url, const std::string& host) {
  std::int64_t* host_count = nullptr;
  if (options_.max_pages_per_host > 0) {
    host_count = &per_host_[host];
    if (*host_count >= options_.max_pages_per_host) return "max_pages_per_host";
  }
  std::int64_t* path_count = nullptr;
  if (options_.max_query_variants > 0 && url.find('?') != std::string::npos) {
    // Bounded memory: past kMaxTrackedPaths paths the counts start over, so the guard then
    // admits up to max_query_variants more of each path.
    if (per_path_.size() >= kMaxTrackedPaths) per_path_.clear();
    path_count = &per_path_[path_key(url)];
    if (*path_count >= options_.max_query_variants) return "query_variants";
  }
  if (host_count != nullptr) ++*host_count;
  if (path_count != nullptr) ++*path_count;
  return {};
}

Result<void> SqlitePageStore::write_robots(const RobotsRecord& record) {
  if (auto r = exec(db_.get(), "BEGIN IMMEDIATE"); !r) return r;
  if (auto r = storage::write_robots(db_.get(), record); !r) {
    (void)exec(db_.get(), "ROLLBACK");
    return r;
  }
  if (auto r = exec(db_.get(), "COMMIT"); !r) {
    (void)exec(db_.get(), "ROLLBACK");
    return r;
  }
  return {};
}

Result<void> SqlitePageStore::prepare_statements() {
  struct Entry {
    SqliteStmt* stmt;
    const char* sql;
  };
  const Entry entries[] = {
      {&insert_page_,
       "INSERT OR IGNORE INTO pages(url_id, url, final_url, status, content_type, depth, title, "
       "size_bytes, fetched_at, error, error_detail, redirect_count, fetch_ms, attempts, "
       "links_out, noindex, canonical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
      {&select_url_, "SELECT depth, state, url, host FROM urls WHERE id = ?"},
      {&insert_url_,
       "INSERT INTO urls(id, url, host, depth, state, reason, discovered_at) "
       "VALUES (?,?,?,?,?,?,?)"},
      {&update_url_depth_, "UPDATE urls SET depth = ? WHERE id = ?"},
      {&update_url_state_, "UPDATE urls SET state = ?, reason = ?, attempts = ? WHERE id = ?"},
      {&insert_frontier_, "INSERT INTO frontier(url_id, url, depth) VALUES (?,?,?)"},
      {&delete_frontier_, "DELETE FROM frontier WHERE url_id = ?"},
      {&insert_text_, "INSERT INTO page_text(rowid, title, body) VALUES (?,?,?)"},
      {&update_frontier_depth_, "UPDATE frontier SET depth = ? WHERE url_id = ?"},
      {&insert_edge_, "INSERT OR IGNORE INTO link_edges(from_id, to_id, follow) VALUES (?,?,?)"},
      {&select_edges_, "SELECT to_id FROM link_edges WHERE from_id = ? AND follow = 1"},
      {&update_page_depth_, "UPDATE pages SET depth = ? WHERE url_id = ?"},
  };
  for (const auto& entry : entries) {
    auto stmt = prepare(db_.get(), entry.sql);
    if (!stmt) return common::error_of(stmt);
    *entry.stmt = std::move(*stmt);
  }
  return {};
}

Result<WriteSummary> SqlitePageStore::write_batch(const std::vector<PageWrite>& batch) {
  WriteSummary summary;
  if (auto r = exec(db_.get(), "BEGIN IMMEDIATE"); !r) return common::error_of(r);
  for (const auto& write : batch) {
    if (auto r = write_page(write, summary); !r) {
      (void)exec(db_.get(), "ROLLBACK");
      return common::error_of(r);
    }
  }
  if (auto r = exec(db_.get(), "COMMIT"); !r) {
    (void)exec(db_.get(), "ROLLBACK");
    return common::error_of(r);
  }
  return summary;
}

Result<void> SqlitePageStore::write_page(const PageWrite& write, WriteSummary& summary) {
  const PageRecord& page = write.page;
  // The urls row is the authority on depth: a shorter path may have been found since the
  // task was handed out.
  int depth = 0;
  {
    sqlite3_stmt* s = select_url_.get();
    bind_int(s, 1, page.url_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) depth = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db_.get(), "select url");
  }
  sqlite3_stmt* s = insert_page_.get();
  const bool failed = page.status == 0;
  bind_int(s, 1, page.url_id);
  bind_text(s, 2, page.url);
  bind_text_or_null(s, 3, page.final_url);
  bind_int_or_null(s, 4, page.status, failed);
  bind_text_or_null(s, 5, page.content_type);
  bind_int(s, 6, depth);
  bind_text_or_null(s, 7, page.title);
  bind_int(s, 8, page.size_bytes);
  bind_text(s, 9, iso8601_utc(page.fetched_at_s));
  bind_text_or_null(s, 10, page.error);
  bind_text_or_null(s, 11, page.error_detail);
  bind_int(s, 12, page.redirect_count);
  bind_int(s, 13, page.fetch_ms);
  bind_int(s, 14, page.attempts);
  bind_int(s, 15, static_cast<std::int64_t>(write.links.size()));
  bind_int(s, 16, page.noindex ? 1 : 0);
  bind_text_or_null(s, 17, page.canonical);
  if (auto r = step_done(s, "insert page"); !r) return r;
  if (sqlite3_changes(db_.get()) == 0) {
    // Stored already (fetched again after a worker was replaced): keep the first result.
    return {};
  }
  ++summary.pages;
  {
    sqlite3_stmt* u = update_url_state_.get();
    bind_text(u, 1, failed ? "failed" : "done");  // incl. refused by robots.txt (error robots)
    bind_text_or_null(u, 2, page.error);
    bind_int(u, 3, page.attempts);
    bind_int(u, 4, page.url_id);
    if (auto r = step_done(u, "update url state"); !r) return r;
  }
  bind_int(delete_frontier_.get(), 1, page.url_id);
  if (auto r = step_done(delete_frontier_.get(), "delete frontier"); !r) return r;
  if (!page.title.empty() || !page.text.empty()) {
    sqlite3_stmt* t = insert_text_.get();
    bind_int(t, 1, page.url_id);
    bind_text(t, 2, page.title);
    bind_text(t, 3, page.text);
    if (auto r = step_done(t, "insert page text"); !r) return r;
  }

  for (const auto& link : write.links) {
    if (auto r = add_link(page.url_id, depth, link, summary); !r) return r;
  }
  return {};
}

Result<void> SqlitePageStore::enqueue(std::int64_t url_id, const std::string& url, int depth,
                                      WriteSummary& summary) {
  sqlite3_stmt* f = insert_frontier_.get();
  bind_int(f, 1, url_id);
  bind_text(f, 2, url);
  bind_int(f, 3, depth);
  ++summary.urls_queued;
  return step_done(f, "insert frontier");
}

Result<void> SqlitePageStore::add_link(std::int64_t from_id, int from_depth,
                                       const LinkRecord& link, WriteSummary& summary) {
  const std::int64_t to_id = common::url_id(link.url);
  {
    sqlite3_stmt* e = insert_edge_.get();
    bind_int(e, 1, from_id);
    bind_int(e, 2, to_id);
    bind_int(e, 3, link.follow ? 1 : 0);
    if (auto r = step_done(e, "insert link"); !r) return r;
  }
  const int depth = from_depth + 1;
  const bool depth_ok = options_.max_depth < 0 || depth <= options_.max_depth;
  UrlRow row;
  {
    sqlite3_stmt* s = select_url_.get();
    bind_int(s, 1, to_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      row.found = true;
      row.depth = sqlite3_column_int(s, 0);
      row.state = column_text(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db_.get(), "select url");
  }
  if (!row.found) {
    std::string_view reason = link.follow ? (depth_ok ? admit(link.url, link.host) : "max_depth")
                                          : std::string_view(link.skip_reason);
    const bool queue = link.follow && reason.empty();
    sqlite3_stmt* u = insert_url_.get();
    bind_int(u, 1, to_id);
    bind_text(u, 2, link.url);
    bind_text(u, 3, link.host);
    bind_int(u, 4, depth);
    bind_text(u, 5, queue ? "queued" : "skipped");
    bind_text_or_null(u, 6, reason);
    bind_text(u, 7, now_iso8601());
    if (auto r = step_done(u, "insert url"); !r) return r;
    if (queue) return enqueue(to_id, link.url, depth, summary);
    return {};
  }
  if (!link.follow) return {};
  if (depth < row.depth || row.state == "skipped") return improve_depth(to_id, depth, summary);
  return {};
}

// Breadth-first order is not strict when pages finish out of order, so a URL can first be
// seen on a longer path. When a shorter one turns up, lower its depth and, for pages already
// fetched, their followable targets' depths, so --max-depth admits exactly the URLs within
// that many links of a seed whatever the timing.
Result<void> SqlitePageStore::improve_depth(std::int64_t url_id, int depth,
                                            WriteSummary& summary) {
  std::vector<std::pair<std::int64_t, int>> work{{url_id, depth}};
  while (!work.empty()) {
    auto [id, d] = work.back();
    work.pop_back();
    UrlRow row;
    {
      sqlite3_stmt* s = select_url_.get();
      bind_int(s, 1, id);
      int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        row.found = true;
        row.depth = sqlite3_column_int(s, 0);
        row.state = column_text(s, 1);
        row.url = column_text(s, 2);
        row.host = column_text(s, 3);
      }
      sqlite3_reset(s);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db_.get(), "select url");
    }
    if (!row.found) continue;
    const bool depth_ok = options_.max_depth < 0 || d <= options_.max_depth;
    // A skipped URL reached by a followable link (it was nofollow, past the depth limit, or
    // out of a scope that has since widened) is queued if the new path is short enough.
    const bool revive = row.state == "skipped" && depth_ok && admit(row.url, row.host).empty();
    if (d >= row.depth && !revive) continue;
    bind_int(update_url_depth_.get(), 1, d);
    bind_int(update_url_depth_.get(), 2, id);
    if (auto r = step_done(update_url_depth_.get(), "update depth"); !r) return r;
    if (row.state == "queued") {
      bind_int(update_frontier_depth_.get(), 1, d);
      bind_int(update_frontier_depth_.get(), 2, id);
      if (auto r = step_done(update_frontier_depth_.get(), "update frontier"); !r) return r;
    } else if (revive) {
      sqlite3_stmt* u = update_url_state_.get();
      bind_text(u, 1, "queued");
      sqlite3_bind_null(u, 2);
      bind_int(u, 3, 0);
      bind_int(u, 4, id);
      if (auto r = step_done(u, "requeue url"); !r) return r;
      if (auto r = enqueue(id, row.url, d, summary); !r) return r;
    } else if (row.state == "done" || row.state == "failed") {
      bind_int(update_page_depth_.get(), 1, d);
      bind_int(update_page_depth_.get(), 2, id);
      if (auto r = step_done(update_page_depth_.get(), "update page depth"); !r) return r;
      sqlite3_stmt* e = select_edges_.get();
      bind_int(e, 1, id);
      int rc;
      while ((rc = sqlite3_step(e)) == SQLITE_ROW) work.emplace_back(sqlite3_column_int64(e, 0), d + 1);
      sqlite3_reset(e);
      if (rc != SQLITE_DONE) return error_from_sqlite(rc, db_.get(), "select edges");
    }
  }
  return {};
}

}  // namespace storage
