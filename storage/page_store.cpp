#include "storage/page_store.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>
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

// The urls row of `id` through `select` (select_url_); found is false if there is none.
Result<UrlRow> read_url(sqlite3_stmt* select, sqlite3* db, std::int64_t id) {
  UrlRow row;
  bind_int(select, 1, id);
  const int rc = sqlite3_step(select);
  if (rc == SQLITE_ROW) {
    row.found = true;
    row.depth = sqlite3_column_int(select, 0);
    row.state = column_text(select, 1);
    row.url = column_text(select, 2);
    row.host = column_text(select, 3);
  }
  sqlite3_reset(select);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db, "select url");
  return row;
}

// The key of a URL's scheme://host/path, query left out.
std::uint64_t path_key(std::string_view url) {
  return static_cast<std::uint64_t>(common::url_id(url.substr(0, url.find('?'))));
}

}  // namespace

Result<std::unique_ptr<SqlitePageStore>> SqlitePageStore::create(SqliteDb db,
                                                                  PageStoreOptions options) {
  std::unique_ptr<SqlitePageStore> store(new SqlitePageStore(std::move(db), options));
  if (store->options_.heartbeat) {  // from here on: loading the keys' filter below can be long
    sqlite3_progress_handler(store->db_.get(), kHeartbeatSteps, &SqlitePageStore::on_progress,
                             store.get());
  }
  if (options.checkpoint_pages > 0) {
    auto checkpointer =
        WalCheckpointer::create(store->db_.get(), options.checkpoint_pages, options.heartbeat);
    if (!checkpointer) return common::error_of(checkpointer);
    store->checkpointer_ = std::move(*checkpointer);
  }
  auto keys = UrlKeys::create(store->db_.get());
  if (!keys) return common::error_of(keys);
  store->keys_ = std::move(*keys);
  if (auto r = store->prepare_statements(); !r) return common::error_of(r);
  if (auto r = store->load_counts(); !r) return common::error_of(r);
  return store;
}

SqlitePageStore::~SqlitePageStore() {
  // Before the members: the handler reads options_, which dies before the connection closes.
  if (db_.get() != nullptr) sqlite3_progress_handler(db_.get(), 0, nullptr, nullptr);
}

int SqlitePageStore::on_progress(void* self) noexcept {
  try {
    static_cast<SqlitePageStore*>(self)->options_.heartbeat();
  } catch (...) {  // a heartbeat that fails is skipped, the statement goes on
  }
  return 0;  // go on
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
      {&update_url_reason_, "UPDATE urls SET reason = ? WHERE id = ?"},
      {&insert_frontier_, "INSERT INTO frontier(seq, url_id, url, depth) VALUES (?,?,?,?)"},
      {&delete_frontier_, "DELETE FROM frontier WHERE url_id = ?"},
      {&insert_text_row_, "INSERT INTO page_text_rows(url_id, title, body) VALUES (?,?,?)"},
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
  // Frees the batch's working memory, and rolls the transaction back on every way out but a
  // commit: an error, or an exception (bad_alloc) from write_batch_rows, which would
  // otherwise leave the transaction open on the connection for the next batch. (sqlite3_exec
  // directly: exec() builds its error's strings, and a destructor must not throw.)
  struct Transaction {
    SqlitePageStore* store;
    bool committed = false;
    ~Transaction() {
      store->release_batch();
      if (committed) return;
      sqlite3_exec(store->db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      store->keys_->rollback();
    }
  } transaction{this};
  if (auto r = write_batch_rows(batch, summary); !r) return common::error_of(r);
  release_batch();  // its memory is not needed for the commit, which may wait a while
  if (auto r = exec(db_.get(), "COMMIT"); !r) return common::error_of(r);
  transaction.committed = true;
  return summary;
}

std::size_t SqlitePageStore::working_bytes_per_link() {
  // target_by_id_: a node (the pair and a link) and a bucket per target.
  // read_targets: an index per keyed target.
  return sizeof(PendingLink) + sizeof(std::size_t) + sizeof(Target) + sizeof(std::size_t) +
         sizeof(std::pair<const std::int64_t, std::size_t>) + 2 * sizeof(void*);
}

void SqlitePageStore::release_batch() {
  std::vector<Target>().swap(targets_);
  std::unordered_map<std::int64_t, std::size_t>().swap(target_by_id_);
  std::vector<PendingLink>().swap(links_);
  std::unordered_map<std::int64_t, BatchPage>().swap(batch_pages_);
  std::vector<const PageRecord*>().swap(texts_);
  links_decided_ = 0;
}

// A batch is written in four steps so that its many links touch the B-trees in key order.
// The targets are looked up by hash (url_keys, the one structure keyed by it) in hash order,
// so a batch walks each level once, left to right; new URLs get the next ids, in the order
// the batch finds them, so urls, frontier_by_url and link_edges_by_target take them at their
// right edge (docs/PERFORMANCE.md, (e)). The decisions (queue or skip, depth, frontier order,
// the per-host limits) are made in batch order, so the result is the same as adding each
// link in turn.
Result<void> SqlitePageStore::write_batch_rows(const std::vector<PageWrite>& batch,
                                               WriteSummary& summary) {
  if (auto r = keys_->begin(); !r) return r;
  // 1. The pages' own rows, in batch order; their links are collected. Then their text, in
  // url_id order (write_texts).
  std::size_t link_count = 0;
  for (const auto& write : batch) link_count += write.links.size();
  links_.reserve(link_count);
  for (const auto& write : batch) {
    auto depth = write_page(write, summary);
    if (!depth) return common::error_of(depth);
    if (!*depth) continue;  // stored before: its links were added then
    const std::int64_t from_id = write.page.url_id;
    batch_pages_[from_id] = {**depth, links_.size(), links_.size() + write.links.size()};
    for (const auto& link : write.links) {
      links_.push_back({from_id, common::url_id(link.url), 0, &link});
    }
  }
  if (auto r = write_texts(); !r) return r;
  if (links_.empty()) return {};

  // 2. What urls holds for each distinct target, looked up in hash order.
  std::vector<std::size_t> hash_order(links_.size());
  std::iota(hash_order.begin(), hash_order.end(), std::size_t{0});
  std::sort(hash_order.begin(), hash_order.end(), [this](std::size_t a, std::size_t b) {
    return links_[a].to_hash != links_[b].to_hash ? links_[a].to_hash < links_[b].to_hash : a < b;
  });
  for (const std::size_t i : hash_order) {
    if (targets_.empty() || targets_.back().hash != links_[i].to_hash) {
      targets_.push_back(Target{});
      targets_.back().hash = links_[i].to_hash;
    }
    links_[i].target = targets_.size() - 1;
  }
  if (auto r = read_targets(); !r) return r;

  // 3. Each link in batch order: the new URLs, their state, depth and frontier seq.
  // AUTOINCREMENT's high-water mark: seqs are never reused, even after deletes.
  auto last_seq = query_int(
      db_.get(), "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'frontier'), 0)");
  if (!last_seq) return common::error_of(last_seq);
  last_seq_ = *last_seq;
  for (links_decided_ = 0; links_decided_ < links_.size();) {
    const PendingLink& link = links_[links_decided_];
    ++links_decided_;  // as the old per-link order inserted a link's edge before deciding it
    const int from_depth = batch_pages_.at(link.from_id).depth;
    if (auto r = add_link(from_depth, targets_[link.target], *link.link, summary); !r) return r;
  }

  // 4. The edges and the new urls and frontier rows, in id order: new ids are the highest,
  // so their rows go to the right edge of urls, frontier_by_url and link_edges_by_target, and
  // known targets' index entries are written left to right. Then the new url_keys rows, in
  // hash order.
  std::vector<std::size_t>& id_order = hash_order;  // re-sorted: no second array per link
  std::sort(id_order.begin(), id_order.end(), [this](std::size_t a, std::size_t b) {
    const std::int64_t id_a = targets_[links_[a].target].id, id_b = targets_[links_[b].target].id;
    return id_a != id_b ? id_a < id_b : a < b;
  });
  if (auto r = write_links(id_order); !r) return r;
  return keys_->maintain();
}

void SqlitePageStore::give_id(std::size_t target_index, std::int64_t id) {
  targets_[target_index].id = id;
  target_by_id_.emplace(id, target_index);
}

Result<void> SqlitePageStore::read_targets() {
  target_by_id_.reserve(targets_.size());
  std::vector<std::size_t> keyed;                      // targets with an id, by index
  for (std::size_t i = 0; i < targets_.size(); ++i) {  // in hash order, as url_keys is keyed
    Target& target = targets_[i];
    auto id = keys_->find(target.hash);
    if (!id) return common::error_of(id);
    if (*id == 0) continue;
    target.keyed = true;
    give_id(i, *id);
    keyed.push_back(i);
  }
  // Their urls rows in id order: ids are in discovery order, so a batch reads urls left to
  // right, and URLs found about the same time share leaves.
  std::sort(keyed.begin(), keyed.end(),
            [this](std::size_t a, std::size_t b) { return targets_[a].id < targets_[b].id; });
  for (const std::size_t i : keyed) {
    Target& target = targets_[i];
    // A key without a urls row: a page stored for a URL never queued (not written since
    // schema 4). The URL is new to urls and keeps that id.
    auto row = read_url(select_url_.get(), db_.get(), target.id);
    if (!row) return common::error_of(row);
    if (!row->found) continue;
    target.kind = Target::Kind::kStored;
    target.depth = row->depth;
    target.skipped = row->state == "skipped";
  }
  return {};
}

Result<void> SqlitePageStore::write_links(const std::vector<std::size_t>& order) {
  const std::string discovered_at = now_iso8601();
  for (const std::size_t i : order) {
    const PendingLink& pending = links_[i];
    Target& target = targets_[pending.target];
    sqlite3_stmt* e = insert_edge_.get();
    bind_int(e, 1, pending.from_id);
    bind_int(e, 2, target.id);
    bind_int(e, 3, pending.link->follow ? 1 : 0);
    if (auto r = step_done(e, "insert link"); !r) return r;
    if (target.kind != Target::Kind::kAdded || target.written) continue;
    target.written = true;
    sqlite3_stmt* u = insert_url_.get();
    bind_int(u, 1, target.id);
    bind_text(u, 2, target.link->url);
    bind_text(u, 3, target.link->host);
    bind_int(u, 4, target.depth);
    bind_text(u, 5, target.skipped ? "skipped" : "queued");
    bind_text_or_null(u, 6, target.reason);
    bind_text(u, 7, discovered_at);
    if (auto r = step_done(u, "insert url"); !r) return r;
    if (target.skipped) continue;
    sqlite3_stmt* f = insert_frontier_.get();
    bind_int(f, 1, target.seq);
    bind_int(f, 2, target.id);
    bind_text(f, 3, target.link->url);
    bind_int(f, 4, target.depth);
    if (auto r = step_done(f, "insert frontier"); !r) return r;
  }
  // The new URLs' keys in hash order, url_keys_new's key (targets_ is in hash order, step 2
  // of write_batch_rows): a batch walks its leaves once, left to right.
  for (const Target& target : targets_) {
    if (target.kind != Target::Kind::kAdded || target.keyed) continue;
    if (auto r = keys_->add(target.hash, target.id); !r) return r;
  }
  return {};
}

SqlitePageStore::Target* SqlitePageStore::find_target(std::int64_t id) {
  auto it = target_by_id_.find(id);
  return it != target_by_id_.end() ? &targets_[it->second] : nullptr;
}

Result<std::optional<int>> SqlitePageStore::write_page(const PageWrite& write,
                                                      WriteSummary& summary) {
  const PageRecord& page = write.page;
  // The urls row is the authority on depth: a shorter path may have been found since the
  // task was handed out.
  auto url_row = read_url(select_url_.get(), db_.get(), page.url_id);
  if (!url_row) return common::error_of(url_row);
  const int depth = url_row->found ? url_row->depth : 0;
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
  if (auto r = step_done(s, "insert page"); !r) return common::error_of(r);
  if (sqlite3_changes(db_.get()) == 0) {
    // Stored already (fetched again after a worker was replaced): keep the first result.
    return std::optional<int>();
  }
  ++summary.pages;
  {
    sqlite3_stmt* u = update_url_state_.get();
    bind_text(u, 1, failed ? "failed" : "done");  // incl. refused by robots.txt (error robots)
    bind_text_or_null(u, 2, page.error);
    bind_int(u, 3, page.attempts);
    bind_int(u, 4, page.url_id);
    if (auto r = step_done(u, "update url state"); !r) return common::error_of(r);
  }
  bind_int(delete_frontier_.get(), 1, page.url_id);
  if (auto r = step_done(delete_frontier_.get(), "delete frontier"); !r) return common::error_of(r);
  if (!page.title.empty() || !page.text.empty()) texts_.push_back(&page);  // see write_texts
  return std::optional<int>(depth);
}

// Pages finish in no particular order, but FTS5 writes the terms it holds for the
// transaction out as a segment of their own whenever it is given a rowid lower than the last
// one (sqlite3Fts5IndexBeginWrite): in batch order, about one page in eight did that, so each
// commit wrote ~55 small segments instead of one, which its merges then read and rewrote at
// every level (docs/PERFORMANCE.md, (e)). In url_id order a batch's text is one segment.
Result<void> SqlitePageStore::write_texts() {
  std::sort(texts_.begin(), texts_.end(),
            [](const PageRecord* a, const PageRecord* b) { return a->url_id < b->url_id; });
  for (const PageRecord* page : texts_) {
    // The text row first, then its index entry (page_text is an external-content table over
    // page_text_rows: schema.cpp, migration 5 -> 6).
    for (sqlite3_stmt* t : {insert_text_row_.get(), insert_text_.get()}) {
      bind_int(t, 1, page->url_id);
      bind_text(t, 2, page->title);
      bind_text(t, 3, page->text);
      if (auto r = step_done(t, "insert page text"); !r) return r;
    }
  }
  return {};
}

// Queues a URL stored before this batch (see improve_depth) at the next seq.
Result<void> SqlitePageStore::enqueue(std::int64_t url_id, const std::string& url, int depth,
                                      WriteSummary& summary) {
  sqlite3_stmt* f = insert_frontier_.get();
  bind_int(f, 1, ++last_seq_);
  bind_int(f, 2, url_id);
  bind_text(f, 3, url);
  bind_int(f, 4, depth);
  ++summary.urls_queued;
  return step_done(f, "insert frontier");
}

Result<void> SqlitePageStore::add_link(int from_depth, Target& target, const LinkRecord& link,
                                       WriteSummary& summary) {
  const int depth = from_depth + 1;
  if (target.kind == Target::Kind::kUnknown) {  // first seen: added in write_links
    const bool depth_ok = options_.max_depth < 0 || depth <= options_.max_depth;
    if (target.id == 0)
      give_id(static_cast<std::size_t>(&target - targets_.data()), keys_->new_id(target.hash));
    target.kind = Target::Kind::kAdded;
    target.link = &link;
    target.depth = depth;
    target.reason = link.follow ? (depth_ok ? admit(link.url, link.host) : "max_depth")
                                : std::string_view(link.skip_reason);
    target.skipped = !(link.follow && target.reason.empty());
    if (!target.skipped) {
      target.seq = ++last_seq_;
      ++summary.urls_queued;
    }
    return {};
  }
  if (!link.follow) return {};
  if (depth < target.depth || target.skipped) return improve_depth(target.id, depth, summary);
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
    const bool depth_ok = options_.max_depth < 0 || d <= options_.max_depth;
    Target* target = find_target(id);
    if (target != nullptr && target->kind == Target::Kind::kAdded) {
      // Found earlier in this batch and not written yet: only its Target changes.
      std::optional<std::string_view> refused;  // see below
      if (target->skipped && depth_ok) refused = admit(target->link->url, target->link->host);
      const bool revive = refused && refused->empty();
      if (refused && !revive) target->reason = *refused;
      if (d >= target->depth && !revive) continue;
      target->depth = d;
      if (revive) {
        target->skipped = false;
        target->reason = {};
        target->seq = ++last_seq_;
        ++summary.urls_queued;
      }
      continue;
    }
    auto url_row = read_url(select_url_.get(), db_.get(), id);
    if (!url_row) return common::error_of(url_row);
    const UrlRow& row = *url_row;
    if (!row.found) continue;
    // A skipped URL reached by a followable link (it was nofollow, past the depth limit, or
    // out of a scope that has since widened) is queued if the new path is short enough and
    // the store's limits admit it; if only a limit refuses it, that becomes its reason.
    std::optional<std::string_view> refused;  // "": it may be queued; else the limit's name
    if (row.state == "skipped" && depth_ok) refused = admit(row.url, row.host);
    const bool revive = refused && refused->empty();
    if (refused && !revive) {
      bind_text(update_url_reason_.get(), 1, *refused);
      bind_int(update_url_reason_.get(), 2, id);
      if (auto r = step_done(update_url_reason_.get(), "update reason"); !r) return r;
    }
    if (d >= row.depth && !revive) continue;
    bind_int(update_url_depth_.get(), 1, d);
    bind_int(update_url_depth_.get(), 2, id);
    if (auto r = step_done(update_url_depth_.get(), "update depth"); !r) return r;
    if (target != nullptr) {  // keep the batch's copy current
      target->depth = d;
      if (revive) target->skipped = false;
    }
    BatchPage* batch_page = nullptr;
    if (auto it = batch_pages_.find(id); it != batch_pages_.end()) {
      batch_page = &it->second;
      batch_page->depth = d;  // its links not added yet start from here
    }
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
      // A page of this batch: its edges are not written yet. Those of its links decided so
      // far count as written, as select_edges would return them: each target once, with its
      // first link's flag, in target order. Links not decided yet start from the new depth
      // (BatchPage::depth) when their turn comes.
      if (batch_page != nullptr) {
        std::vector<std::pair<std::int64_t, bool>> edges;  // (to_id, follow), first link first
        const std::size_t end = std::min(batch_page->end_link, links_decided_);
        for (std::size_t i = batch_page->first_link; i < end; ++i) {
          edges.emplace_back(targets_[links_[i].target].id, links_[i].link->follow);
        }
        std::stable_sort(edges.begin(), edges.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t i = 0; i < edges.size(); ++i) {
          const bool first = i == 0 || edges[i - 1].first != edges[i].first;
          if (first && edges[i].second) work.emplace_back(edges[i].first, d + 1);
        }
      }
    }
  }
  return {};
}

}  // namespace storage
