#include "storage/url_keys.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace storage {

using common::Result;

namespace {

constexpr double kHashSpace = 9223372036854775808.0;  // 2^63: hashes are 0 .. 2^63 - 1
constexpr std::uint64_t kFilterBitsPerKey = 10;
constexpr std::uint64_t kFilterHeadroom = 4;  // sized for this many times the keys it holds

}  // namespace

Result<std::int64_t> read_url_id(sqlite3* db, std::int64_t hash) {
  auto version = query_int(db, "PRAGMA user_version");
  if (!version) return version;
  if (*version < 4) return hash;
  auto stmt = prepare(db,
                      "SELECT id FROM url_keys_new WHERE hash = ?1 UNION ALL "
                      "SELECT id FROM url_keys_mid WHERE hash = ?1 UNION ALL "
                      "SELECT id FROM url_keys WHERE hash = ?1");
  if (!stmt) return common::error_of(stmt);
  bind_int(stmt->get(), 1, hash);
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(stmt->get(), 0);
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db, "read url id");
  return std::int64_t{0};
}

Result<std::unique_ptr<UrlKeys>> UrlKeys::create(sqlite3* db, UrlKeysOptions options) {
  options.merge_rows = std::max<std::int64_t>(1, options.merge_rows);
  if (!(options.level_ratio > 0)) options.level_ratio = UrlKeysOptions{}.level_ratio;
  std::unique_ptr<UrlKeys> keys(new UrlKeys(db, options));
  const std::pair<SqliteStmt*, const char*> statements[] = {
      {&keys->load_new_, "SELECT seq, hash, id FROM url_keys_new WHERE seq > ? ORDER BY seq"},
      {&keys->find_mid_, "SELECT id FROM url_keys_mid WHERE hash = ?"},
      {&keys->find_big_, "SELECT id FROM url_keys WHERE hash = ?"},
      {&keys->insert_new_, "INSERT INTO url_keys_new(hash, id) VALUES (?, ?)"},
      {&keys->insert_mid_, "INSERT INTO url_keys_mid(hash, id) VALUES (?, ?)"}};
  for (const auto& [stmt, sql] : statements) {
    auto prepared = prepare(db, sql);
    if (!prepared) return common::error_of(prepared);
    *stmt = std::move(*prepared);
  }
  if (auto r = keys->reload(); !r) return common::error_of(r);
  return keys;
}

Result<std::int64_t> UrlKeys::read_generation() {
  auto stmt = prepare(db_, "SELECT scheme, merges FROM url_ids");
  if (!stmt) return common::error_of(stmt);
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) return error_from_sqlite(rc, db_, "read url_ids");
    return common::make_error(common::ErrorCode::Storage,
                              "the database's url_ids table is empty: it says how new URLs get "
                              "their ids, and only the crawler writes it");
  }
  hash_ids_ = column_text(stmt->get(), 0) == "hash";
  return sqlite3_column_int64(stmt->get(), 1);
}

Result<void> UrlKeys::reload() {
  auto generation = read_generation();
  if (!generation) return common::error_of(generation);
  const std::pair<std::int64_t*, const char*> levels[] = {
      {&counts_.mid_level, "SELECT count(*) FROM url_keys_mid"},
      {&counts_.big_level, "SELECT count(*) FROM url_keys"}};
  for (const auto& [count, sql] : levels) {
    auto n = query_int(db_, sql);
    if (!n) return common::error_of(n);
    *count = *n;
  }
  added_since_maintain_ = 0;
  sweeping_ = false;
  newest_stale_ = true;  // read whole, and counts_.new_level with it
  if (auto r = refresh_newest(); !r) return r;
  if (auto r = rebuild_filter(); !r) return r;
  generation_ = *generation;
  return {};
}

Result<void> UrlKeys::load_newest() {
  sqlite3_stmt* s = load_new_.get();
  bind_int(s, 1, newest_seq_);
  int rc;
  try {
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      newest_seq_ = sqlite3_column_int64(s, 0);
      newest_.insert(sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
    }
  } catch (...) {  // bad_alloc: the copy is incomplete, so it is read again before its next use
    sqlite3_reset(s);
    newest_stale_ = true;
    throw;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    newest_stale_ = true;
    return error_from_sqlite(rc, db_, "load newest url keys");
  }
  return {};
}

Result<void> UrlKeys::refresh_newest() {
  if (!newest_stale_) return {};
  newest_.clear();
  newest_seq_ = 0;
  if (auto r = load_newest(); !r) return r;
  newest_stale_ = false;
  counts_.new_level = static_cast<std::int64_t>(newest_.size());
  return {};
}

Result<void> UrlKeys::begin() {
  auto generation = read_generation();
  if (!generation) return common::error_of(generation);
  // Keys moved since this UrlKeys last looked (another connection merged, or --fresh emptied
  // the tables): its counts and filter are stale.
  if (*generation != generation_) {
    if (auto r = reload(); !r) return r;
  } else if (newest_stale_) {
    if (auto r = refresh_newest(); !r) return r;
  } else {
    // Keys other connections appended since (the coordinator's seeds): rows after newest_seq_.
    const std::size_t before = newest_.size();
    if (auto r = load_newest(); !r) return r;
    counts_.new_level += static_cast<std::int64_t>(newest_.size() - before);
  }
  auto last = query_int(db_, "SELECT coalesce(max(id), 0) FROM urls");
  if (!last) return common::error_of(last);
  last_id_ = *last;
  added_since_maintain_ = 0;
  saved_ = {counts_, generation_, sweeping_, sweep_next_, sweep_budget_};
  return {};
}

void UrlKeys::rollback() {
  counts_ = saved_.counts;
  generation_ = saved_.generation;
  sweeping_ = saved_.sweeping;
  sweep_next_ = saved_.sweep_next;
  sweep_budget_ = saved_.sweep_budget;
  added_since_maintain_ = 0;
  newest_stale_ = true;  // it may hold keys the rollback took back, or miss merged-back ones
}

Result<std::int64_t> UrlKeys::find_in(sqlite3_stmt* level, std::int64_t hash) {
  bind_int(level, 1, hash);
  const int rc = sqlite3_step(level);
  const std::int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(level, 0) : 0;
  sqlite3_reset(level);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db_, "find url key");
  return id;
}

Result<std::int64_t> UrlKeys::find(std::int64_t hash) {
  if (auto r = refresh_newest(); !r) return common::error_of(r);
  if (const std::int64_t newest = newest_.find(hash); newest != 0) return newest;
  if (!filter_may_contain(hash)) return std::int64_t{0};
  auto id = find_in(find_mid_.get(), hash);
  if (!id || *id != 0) return id;
  return find_in(find_big_.get(), hash);
}

bool UrlKeys::filter_may_contain(std::int64_t hash) const {
  if (filter_.empty()) return counts_.mid_level + counts_.big_level > 0;
  return filter_.may_contain(BloomFilter::key_of_hash63(hash));
}

Result<void> UrlKeys::load_filter(BloomFilter& filter, const char* sql) {
  auto stmt = prepare(db_, sql);
  if (!stmt) return common::error_of(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    filter.add(BloomFilter::key_of_hash63(sqlite3_column_int64(stmt->get(), 0)));
  }
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db_, "load url key filter");
  return {};
}

Result<void> UrlKeys::rebuild_filter() {
  const auto keys = static_cast<std::uint64_t>(counts_.mid_level + counts_.big_level);
  BloomFilter filter;
  std::uint64_t capacity = 0;
  if (keys > 0) {
    const std::uint64_t max_words = std::max<std::uint64_t>(1, options_.filter_max_bytes / 8);
    std::uint64_t words = 1;
    while (words * 64 < keys * kFilterHeadroom * kFilterBitsPerKey && words * 2 <= max_words) {
      words *= 2;
    }
    filter = BloomFilter(words);
    // At the bound the filter is kept however full it gets: no capacity to outgrow.
    capacity = words * 64 >= keys * kFilterHeadroom * kFilterBitsPerKey
                   ? words * 64 / kFilterBitsPerKey
                   : UINT64_MAX;
    if (auto r = load_filter(filter, "SELECT hash FROM url_keys_mid"); !r) return r;
    if (auto r = load_filter(filter, "SELECT hash FROM url_keys"); !r) return r;
  }
  // Only a complete filter replaces the old one: a partial one would hide stored keys.
  filter_.swap(filter);
  filter_capacity_ = capacity;
  return {};
}

std::int64_t UrlKeys::new_id(std::int64_t hash) { return hash_ids_ ? hash : ++last_id_; }

Result<void> UrlKeys::add(std::int64_t hash, std::int64_t id) {
  if (auto r = refresh_newest(); !r) return r;
  bind_int(insert_new_.get(), 1, hash);
  bind_int(insert_new_.get(), 2, id);
  if (auto r = step_done(insert_new_.get(), "insert url key"); !r) return r;
  newest_seq_ = sqlite3_last_insert_rowid(db_);
  try {
    newest_.insert(hash, id);
  } catch (...) {  // bad_alloc: the row is in the table, not in the copy
    newest_stale_ = true;
    throw;
  }
  ++counts_.new_level;
  ++added_since_maintain_;
  return {};
}

Result<void> UrlKeys::move_range(std::int64_t lo, std::int64_t hi) {
  const std::string where =
      " WHERE hash BETWEEN " + std::to_string(lo) + " AND " + std::to_string(hi);
  if (auto r = exec(db_, "INSERT INTO url_keys(hash, id) SELECT hash, id FROM url_keys_mid" +
                             where + " ORDER BY hash");
      !r) {
    return r;
  }
  if (auto r = exec(db_, "DELETE FROM url_keys_mid" + where); !r) return r;
  const std::int64_t moved = sqlite3_changes(db_);
  counts_.mid_level -= moved;
  counts_.big_level += moved;
  return {};
}

Result<void> UrlKeys::maintain() {
  const std::int64_t added = added_since_maintain_;
  added_since_maintain_ = 0;
  bool moved = false;
  if (auto r = refresh_newest(); !r) return r;
  if (counts_.new_level >= options_.merge_rows) {
    // Into url_keys_mid in hash order, so each of its leaves is written at most once. Sorted
    // here, inside the copy in memory (the same keys as the table: refresh_newest), which
    // the merge empties, rather than by SQLite, whose sorter takes memory up to the cache
    // size, which the process then keeps. The filter learns each key before it moves: it
    // only gains bits, so a failure hides no key. If one fails, the transaction is rolled
    // back and the copy is read again from the table before its next use.
    std::optional<common::Error> failed;
    const std::size_t expected = newest_.size();
    newest_stale_ = true;  // until the merge is done
    newest_.drain_sorted([&](std::int64_t hash, std::int64_t id) {
      filter_.add(BloomFilter::key_of_hash63(hash));
      bind_int(insert_mid_.get(), 1, hash);
      bind_int(insert_mid_.get(), 2, id);
      if (auto r = step_done(insert_mid_.get(), "merge url key"); !r) {
        failed = r.error();
        return false;
      }
      return true;
    });
    if (failed) return common::Unexpected<common::Error>(std::move(*failed));
    if (auto r = exec(db_, "DELETE FROM url_keys_new"); !r) return r;
    const std::int64_t merged = sqlite3_changes(db_);
    if (merged != static_cast<std::int64_t>(expected)) {
      return common::make_error(common::ErrorCode::Storage,
                                "url_keys_new held " + std::to_string(merged) +
                                    " keys, its copy in memory " + std::to_string(expected));
    }
    newest_stale_ = false;
    counts_.mid_level += counts_.new_level;
    counts_.new_level = 0;
    newest_seq_ = 0;  // (if the transaction is rolled back, rollback() has newest_ read again)
    moved = true;
    if (static_cast<std::uint64_t>(counts_.mid_level + counts_.big_level) > filter_capacity_) {
      if (auto r = rebuild_filter(); !r) return r;
    }
  }
  const double big = static_cast<double>(counts_.big_level);
  if (!sweeping_ && counts_.mid_level > 0 &&
      static_cast<double>(counts_.mid_level) >= options_.level_ratio * big) {
    // A sweep over the whole hash space, spread over the next batches: it ends once they
    // have added half as many keys again as url_keys' share that started it, so each
    // rewrite of url_keys is paid for by a number of new URLs that grows with it.
    sweeping_ = true;
    sweep_next_ = 0;
    sweep_budget_ =
        std::max(static_cast<double>(options_.merge_rows), options_.level_ratio * big / 2);
  }
  if (sweeping_ && added > 0) {
    const double step = kHashSpace * static_cast<double>(added) / sweep_budget_;
    const std::int64_t lo = sweep_next_;
    std::int64_t hi = INT64_MAX;
    if (static_cast<double>(lo) + step >= kHashSpace) {
      sweeping_ = false;  // keys added behind the sweep wait for the next one
    } else {
      sweep_next_ = lo + std::max<std::int64_t>(1, static_cast<std::int64_t>(step));
      hi = sweep_next_ - 1;
    }
    if (auto r = move_range(lo, hi); !r) return r;
    moved = true;
  }
  if (!moved) return {};
  // Keys moved: any other UrlKeys on this database reloads at its next begin(). If this
  // transaction is rolled back, rollback() puts generation_ back with the database's count.
  if (auto r = exec(db_, "UPDATE url_ids SET merges = merges + 1"); !r) return r;
  ++generation_;
  return {};
}

}  // namespace storage
