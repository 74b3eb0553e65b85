#include "storage/url_keys.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storage {

using common::Result;

namespace {

constexpr double kHashSpace = 9223372036854775808.0;  // 2^63: hashes are 0 .. 2^63 - 1
constexpr std::uint64_t kFilterBitsPerKey = 10;
constexpr std::uint64_t kFilterHeadroom = 4;  // sized for this many times the keys it holds
// A compaction moves this many keys per new key, times the tier of the whole set (at least 1):
// the work per new key is about one move per tier, so compactions keep up, and run about 1/1.5
// of the time.
constexpr double kCompactionSpeed = 1.5;

constexpr const char* kRunPrefix = "url_keys_run_";
constexpr const char* kPartPrefix = "url_keys_part_";
constexpr const char* kRunColumns = " (hash INTEGER PRIMARY KEY, id INTEGER NOT NULL)";

// The run tables, the part tables, and a schema 4-7 database's url_keys_mid and url_keys.
struct KeyTables {
  std::vector<std::pair<std::int64_t, std::string>> runs;  // (N, name), by N
  std::vector<std::string> parts;
  std::vector<std::string> older;
};

// N of `prefix`N, if the rest of `name` is a positive number (GLOB's [0-9]* lets any suffix
// through): a table named otherwise is not one of ours.
std::optional<std::int64_t> run_number(std::string_view name, std::string_view prefix) {
  const std::string_view digits = name.substr(prefix.size());
  std::int64_t run = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), run);
  if (ec != std::errc() || end != digits.data() + digits.size() || run <= 0) return std::nullopt;
  return run;
}

Result<KeyTables> key_tables(sqlite3* db) {
  auto stmt = prepare(db,
                      "SELECT name FROM sqlite_master WHERE type = 'table' AND (name GLOB "
                      "'url_keys_run_[0-9]*' OR name GLOB 'url_keys_part_[0-9]*' OR name IN "
                      "('url_keys', 'url_keys_mid'))");
  if (!stmt) return common::error_of(stmt);
  KeyTables tables;
  const std::string_view run_prefix = kRunPrefix;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    std::string name = column_text(stmt->get(), 0);
    if (name.rfind(kRunPrefix, 0) == 0) {
      if (auto run = run_number(name, run_prefix)) tables.runs.emplace_back(*run, std::move(name));
    } else if (name.rfind(kPartPrefix, 0) == 0) {
      if (run_number(name, kPartPrefix)) tables.parts.push_back(std::move(name));
    } else {
      tables.older.push_back(std::move(name));
    }
  }
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db, "list url key runs");
  std::sort(tables.runs.begin(), tables.runs.end());
  return tables;
}

// read_url_id's lookup, inside its read transaction.
Result<std::int64_t> read_url_id_in(sqlite3* db, std::int64_t hash) {
  auto tables = key_tables(db);
  if (!tables) return common::error_of(tables);
  std::string sql = "SELECT id FROM url_keys_new WHERE hash = ?1";
  for (const auto& [run, name] : tables->runs) {
    sql += " UNION ALL SELECT id FROM " + name + " WHERE hash = ?1";
  }
  for (const auto& name : tables->older) {
    sql += " UNION ALL SELECT id FROM " + name + " WHERE hash = ?1";
  }
  auto stmt = prepare(db, sql);
  if (!stmt) return common::error_of(stmt);
  bind_int(stmt->get(), 1, hash);
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(stmt->get(), 0);
  if (rc != SQLITE_DONE) return error_from_sqlite(rc, db, "read url id");
  return std::int64_t{0};
}

}  // namespace

Result<std::int64_t> read_url_id(sqlite3* db, std::int64_t hash) {
  auto version = query_int(db, "PRAGMA user_version");
  if (!version) return version;
  if (*version < 4) return hash;
  // One read transaction for the list of runs and the lookup: between two, the crawl could
  // make url_keys_new a run this list lacks, or drop a run it names.
  if (auto r = exec(db, "SAVEPOINT read_url_id"); !r) return common::error_of(r);
  auto id = read_url_id_in(db, hash);
  if (!id) (void)exec(db, "ROLLBACK TO read_url_id");
  (void)exec(db, "RELEASE read_url_id");
  return id;
}

Result<void> clear_url_keys(sqlite3* db) {
  auto tables = key_tables(db);
  if (!tables) return common::error_of(tables);
  std::string sql = "DELETE FROM url_keys_new;";
  for (const auto& [run, name] : tables->runs) sql += " DROP TABLE " + name + ";";
  for (const auto& name : tables->parts) sql += " DROP TABLE " + name + ";";
  return exec(db, sql);
}

Result<std::unique_ptr<UrlKeys>> UrlKeys::create(sqlite3* db, UrlKeysOptions options) {
  options.merge_rows = std::max<std::int64_t>(1, options.merge_rows);
  options.fan_in = std::max(2, options.fan_in);
  std::unique_ptr<UrlKeys> keys(new UrlKeys(db, options));
  const std::pair<SqliteStmt*, const char*> statements[] = {
      {&keys->load_new_, "SELECT seq, hash, id FROM url_keys_new WHERE seq > ? ORDER BY seq"},
      {&keys->insert_new_, "INSERT INTO url_keys_new(hash, id) VALUES (?, ?)"}};
  for (const auto& [stmt, sql] : statements) {
    auto prepared = prepare(db, sql);
    if (!prepared) return common::error_of(prepared);
    *stmt = std::move(*prepared);
  }
  if (auto r = keys->reload(); !r) return common::error_of(r);
  return keys;
}

std::string UrlKeys::table_of(std::int64_t run) const {
  const bool part = compaction_.active && run == compaction_.target;
  return (part ? kPartPrefix : kRunPrefix) + std::to_string(run);
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
  added_since_maintain_ = 0;
  compaction_ = Compaction{};
  probes_.clear();
  newest_stale_ = true;  // read whole, and new_level_ with it
  if (auto r = refresh_newest(); !r) return r;
  if (auto r = load_runs_and_filter(); !r) return r;
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
  new_level_ = static_cast<std::int64_t>(newest_.size());
  return {};
}

Result<void> UrlKeys::begin() {
  begun_ = false;  // until it returns: rollback() then has nothing it saved to go back to
  auto generation = read_generation();
  if (!generation) return common::error_of(generation);
  // Keys moved since this UrlKeys last looked (another connection merged, or --fresh emptied
  // the tables): its runs and filter are stale.
  if (*generation != generation_) {
    if (auto r = reload(); !r) return r;
  } else if (newest_stale_) {
    if (auto r = refresh_newest(); !r) return r;
  } else {
    // Keys other connections appended since (the coordinator's seeds): rows after newest_seq_.
    const std::size_t before = newest_.size();
    if (auto r = load_newest(); !r) return r;
    new_level_ += static_cast<std::int64_t>(newest_.size() - before);
  }
  auto last = query_int(db_, "SELECT coalesce(max(id), 0) FROM urls");
  if (!last) return common::error_of(last);
  last_id_ = *last;
  added_since_maintain_ = 0;
  saved_ = {new_level_, runs_, next_run_, compaction_, generation_, to_drop_};
  begun_ = true;
  return {};
}

void UrlKeys::rollback() {
  if (!begun_) {
    // begin() failed part way: what it saved is an older transaction's. Read everything
    // again from the tables at the next begin().
    generation_ = -1;
    compaction_ = Compaction{};
    probes_.clear();
    added_since_maintain_ = 0;
    newest_stale_ = true;
    return;
  }
  new_level_ = saved_.new_level;
  runs_ = saved_.runs;
  next_run_ = saved_.next_run;
  compaction_ = saved_.compaction;
  generation_ = saved_.generation;
  to_drop_ = saved_.to_drop;
  probes_.clear();  // some may name tables the rollback took back, or a renamed one
  added_since_maintain_ = 0;
  newest_stale_ = true;  // it may hold keys the rollback took back, or miss flushed-back ones
}

UrlKeys::Counts UrlKeys::counts() const {
  Counts counts;
  counts.new_level = new_level_;
  for (const Run& run : runs_) {
    if (compaction_.active && run.run == compaction_.target) continue;
    counts.in_runs += run.keys;
    ++counts.runs;
  }
  return counts;
}

Result<std::int64_t> UrlKeys::probe(std::int64_t run, std::int64_t hash) {
  auto it = probes_.find(run);
  if (it == probes_.end()) {
    auto stmt = prepare(db_, "SELECT id FROM " + table_of(run) + " WHERE hash = ?");
    if (!stmt) return common::error_of(stmt);
    it = probes_.emplace(run, std::move(*stmt)).first;
  }
  sqlite3_stmt* s = it->second.get();
  bind_int(s, 1, hash);
  const int rc = sqlite3_step(s);
  const std::int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error_from_sqlite(rc, db_, "find url key");
  return id;
}

Result<std::int64_t> UrlKeys::find(std::int64_t hash) {
  if (auto r = refresh_newest(); !r) return common::error_of(r);
  if (const std::int64_t newest = newest_.find(hash); newest != 0) return newest;
  if (!filter_may_contain(hash)) return std::int64_t{0};
  for (const Run& run : runs_) {  // largest first: the likeliest to hold a stored key
    if (run.keys == 0) continue;
    if (compaction_.active) {
      // A hash below next_hash is in the target (and still in its source); one above, only
      // in its source. Either way one of the two is enough.
      const bool moved = hash < compaction_.next_hash;
      if (run.run == compaction_.target ? !moved : moved && is_source(run.run)) continue;
    }
    auto id = probe(run.run, hash);
    if (!id || *id != 0) return id;
  }
  return std::int64_t{0};
}

bool UrlKeys::filter_may_contain(std::int64_t hash) const {
  if (filter_.empty()) return !runs_.empty();
  return filter_.may_contain(BloomFilter::key_of_hash63(hash));
}

Result<void> UrlKeys::load_runs_and_filter() {
  auto tables = key_tables(db_);
  if (!tables) return common::error_of(tables);
  std::vector<Run> runs;
  std::vector<std::string> to_drop;
  std::uint64_t keys = 0;
  std::int64_t next_run = 1;
  for (const auto& [run, name] : tables->runs) {
    auto n = query_int(db_, "SELECT count(*) FROM " + name);
    if (!n) return common::error_of(n);
    next_run = std::max(next_run, run + 1);
    if (*n == 0) {
      to_drop.push_back(name);  // as migration 7 -> 8 leaves a new database's
      continue;
    }
    runs.push_back({run, *n});
    keys += static_cast<std::uint64_t>(*n);
  }
  for (const auto& name : tables->parts) {
    // A compaction's target: this UrlKeys' own (rebuilding the filter mid-compaction), or
    // one a compaction cut short left, whose keys are all in its sources still.
    const std::int64_t run = *run_number(name, kPartPrefix);  // key_tables checked it
    next_run = std::max(next_run, run + 1);
    if (compaction_.active && run == compaction_.target) {
      for (const Run& target : runs_) {
        if (target.run == run) runs.push_back(target);
      }
    } else {
      to_drop.push_back(name);
    }
  }
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
    for (const Run& run : runs) {
      if (compaction_.active && run.run == compaction_.target) continue;  // copies
      auto stmt = prepare(db_, "SELECT hash FROM " + table_of(run.run));
      if (!stmt) return common::error_of(stmt);
      int rc;
      while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
        filter.add(BloomFilter::key_of_hash63(sqlite3_column_int64(stmt->get(), 0)));
      }
      if (rc != SQLITE_DONE) return error_from_sqlite(rc, db_, "load url key filter");
    }
  }
  // Only a complete filter replaces the old one: a partial one would hide stored keys.
  filter_.swap(filter);
  filter_capacity_ = capacity;
  runs_ = std::move(runs);
  sort_runs();
  next_run_ = std::max(next_run_, next_run);
  to_drop_ = std::move(to_drop);
  return {};
}

bool UrlKeys::is_source(std::int64_t run) const {
  return compaction_.active && std::find(compaction_.sources.begin(), compaction_.sources.end(),
                                         run) != compaction_.sources.end();
}

void UrlKeys::sort_runs() {
  std::stable_sort(runs_.begin(), runs_.end(),
                   [](const Run& a, const Run& b) { return a.keys > b.keys; });
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
  ++new_level_;
  ++added_since_maintain_;
  return {};
}

int UrlKeys::tier_of(std::int64_t keys) const {
  int tier = 0;
  for (double bound = static_cast<double>(options_.merge_rows) * options_.fan_in;
       static_cast<double>(keys) >= bound; bound *= options_.fan_in) {
    ++tier;
  }
  return tier;
}

Result<void> UrlKeys::flush_newest() {
  // A new table written in hash order, so at its right edge: each leaf is written once.
  // Sorted here, inside the copy in memory (the same keys as the table: refresh_newest),
  // which the flush empties, rather than by SQLite, whose sorter takes memory up to the cache
  // size, which the process then keeps. The filter learns each key before it moves: it only
  // gains bits, so a failure hides no key. If one fails, the transaction is rolled back and
  // the copy is read again from the table before its next use.
  const std::int64_t run = next_run_;
  const std::string table = kRunPrefix + std::to_string(run);
  if (auto r = exec(db_, "CREATE TABLE " + table + kRunColumns); !r) {
    return r;
  }
  auto insert = prepare(db_, "INSERT INTO " + table + "(hash, id) VALUES (?, ?)");
  if (!insert) return common::error_of(insert);
  std::optional<common::Error> failed;
  const std::size_t expected = newest_.size();
  newest_stale_ = true;  // until the flush is done
  newest_.drain_sorted([&](std::int64_t hash, std::int64_t id) {
    filter_.add(BloomFilter::key_of_hash63(hash));
    bind_int(insert->get(), 1, hash);
    bind_int(insert->get(), 2, id);
    if (auto r = step_done(insert->get(), "write url key run"); !r) {
      failed = r.error();
      return false;
    }
    return true;
  });
  if (failed) return common::Unexpected<common::Error>(std::move(*failed));
  if (auto r = exec(db_, "DELETE FROM url_keys_new"); !r) return r;
  const std::int64_t flushed = sqlite3_changes(db_);
  if (flushed != static_cast<std::int64_t>(expected)) {
    return common::make_error(common::ErrorCode::Storage,
                              "url_keys_new held " + std::to_string(flushed) +
                                  " keys, its copy in memory " + std::to_string(expected));
  }
  newest_stale_ = false;
  newest_seq_ = 0;  // (if the transaction is rolled back, rollback() has newest_ read again)
  new_level_ = 0;
  ++next_run_;
  runs_.push_back({run, flushed});
  sort_runs();
  if (static_cast<std::uint64_t>(counts().in_runs) > filter_capacity_) {
    if (auto r = load_runs_and_filter(); !r) return r;
  }
  return {};
}

Result<void> UrlKeys::plan_compaction() {
  std::vector<std::vector<const Run*>> tiers;
  std::int64_t total = 0;
  for (const Run& run : runs_) {
    total += run.keys;
    const auto tier = static_cast<std::size_t>(tier_of(run.keys));
    if (tiers.size() <= tier) tiers.resize(tier + 1);
    tiers[tier].push_back(&run);
  }
  for (auto& tier : tiers) {
    if (tier.size() < static_cast<std::size_t>(options_.fan_in)) continue;
    // The smallest of the tier (runs_ is largest first), at most twice fan_in of them if
    // they piled up, so that no compaction grows without bound.
    const std::size_t take = std::min(tier.size(), 2 * static_cast<std::size_t>(options_.fan_in));
    Compaction c;
    c.active = true;
    double keys = 0;
    for (std::size_t i = tier.size() - take; i < tier.size(); ++i) {
      c.sources.push_back(tier[i]->run);
      keys += static_cast<double>(tier[i]->keys);
    }
    c.target = next_run_;
    c.budget = std::max(1.0, keys / (kCompactionSpeed * std::max(1, tier_of(total))));
    if (auto r = exec(db_, "CREATE TABLE " + std::string(kPartPrefix) + std::to_string(c.target) +
                               kRunColumns);
        !r) {
      return r;
    }
    ++next_run_;
    compaction_ = std::move(c);
    runs_.push_back({compaction_.target, 0});
    return {};
  }
  return {};
}

Result<void> UrlKeys::compact_range(std::int64_t lo, std::int64_t hi) {
  struct Source {
    SqliteStmt rows;
    bool valid = false;
    std::int64_t hash = 0, id = 0;
  };
  std::vector<Source> sources;
  for (const std::int64_t run : compaction_.sources) {
    auto rows = prepare(
        db_, "SELECT hash, id FROM " + table_of(run) + " WHERE hash BETWEEN ? AND ? ORDER BY hash");
    if (!rows) return common::error_of(rows);
    bind_int(rows->get(), 1, lo);
    bind_int(rows->get(), 2, hi);
    sources.push_back({std::move(*rows)});
  }
  auto advance = [&](Source& source) -> Result<void> {
    const int rc = sqlite3_step(source.rows.get());
    source.valid = rc == SQLITE_ROW;
    if (source.valid) {
      source.hash = sqlite3_column_int64(source.rows.get(), 0);
      source.id = sqlite3_column_int64(source.rows.get(), 1);
    } else if (rc != SQLITE_DONE) {
      return error_from_sqlite(rc, db_, "read url key run");
    }
    return {};
  };
  for (Source& source : sources) {
    if (auto r = advance(source); !r) return r;
  }
  auto insert =
      prepare(db_, "INSERT INTO " + table_of(compaction_.target) + "(hash, id) VALUES (?, ?)");
  if (!insert) return common::error_of(insert);
  // A merge of the sources' sorted ranges, appended to the target in hash order. The
  // sources keep their rows until the compaction ends: each is dropped whole then.
  std::int64_t copied = 0;
  for (;;) {
    Source* next = nullptr;
    for (Source& source : sources) {
      if (source.valid && (next == nullptr || source.hash < next->hash)) next = &source;
    }
    if (next == nullptr) break;
    bind_int(insert->get(), 1, next->hash);
    bind_int(insert->get(), 2, next->id);
    if (auto r = step_done(insert->get(), "compact url key runs"); !r) return r;
    ++copied;
    if (auto r = advance(*next); !r) return r;
  }
  for (Run& run : runs_) {
    if (run.run == compaction_.target) run.keys += copied;
  }
  return {};
}

Result<void> UrlKeys::finish_compaction() {
  std::int64_t source_keys = 0;
  std::string sql;
  for (const std::int64_t run : compaction_.sources) sql += "DROP TABLE " + table_of(run) + ";";
  const std::string target = table_of(compaction_.target);
  std::int64_t target_keys = 0;
  for (const Run& run : runs_) {
    if (is_source(run.run)) source_keys += run.keys;
    if (run.run == compaction_.target) target_keys = run.keys;
  }
  if (source_keys != target_keys) {
    return common::make_error(common::ErrorCode::Storage,
                              "a compaction of url key runs copied " + std::to_string(target_keys) +
                                  " keys of " + std::to_string(source_keys));
  }
  sql += "ALTER TABLE " + target + " RENAME TO " + kRunPrefix + std::to_string(compaction_.target) +
         ";";
  if (auto r = exec(db_, sql); !r) return r;
  for (const std::int64_t run : compaction_.sources) probes_.erase(run);
  probes_.erase(compaction_.target);  // prepared under the part table's name
  runs_.erase(std::remove_if(runs_.begin(), runs_.end(),
                             [&](const Run& run) { return is_source(run.run); }),
              runs_.end());
  compaction_ = Compaction{};
  return {};
}

Result<void> UrlKeys::maintain() {
  const std::int64_t added = added_since_maintain_;
  added_since_maintain_ = 0;
  bool moved = false;
  if (!to_drop_.empty()) {
    std::string sql;
    // IF EXISTS: another UrlKeys on this database may have dropped them since this one looked.
    for (const auto& name : to_drop_) sql += "DROP TABLE IF EXISTS " + name + ";";
    if (auto r = exec(db_, sql); !r) return r;
    to_drop_.clear();
    moved = true;  // tables changed: another UrlKeys on this database must list them again
  }
  if (auto r = refresh_newest(); !r) return r;
  if (new_level_ >= options_.merge_rows) {
    if (auto r = flush_newest(); !r) return r;
    moved = true;
  }
  if (!compaction_.active) {
    if (auto r = plan_compaction(); !r) return r;
    // Its part table is new: another UrlKeys that has not seen it would drop it as a
    // leftover.
    moved = moved || compaction_.active;
  }
  if (compaction_.active && added > 0) {
    // A step through the hash space in proportion to the keys this batch added, so the
    // compaction ends once `budget` new keys have come.
    const double step = kHashSpace * static_cast<double>(added) / compaction_.budget;
    const std::int64_t lo = compaction_.next_hash;
    std::int64_t hi = INT64_MAX;
    const bool last = static_cast<double>(lo) + step >= kHashSpace;
    if (!last) hi = lo + std::max<std::int64_t>(1, static_cast<std::int64_t>(step)) - 1;
    if (auto r = compact_range(lo, hi); !r) return r;
    moved = true;
    if (last) {
      if (auto r = finish_compaction(); !r) return r;
    } else {
      compaction_.next_hash = hi + 1;
    }
    sort_runs();
  }
  if (!moved) return {};
  // Keys moved: any other UrlKeys on this database reloads at its next begin(). If this
  // transaction is rolled back, rollback() puts generation_ back with the database's count.
  if (auto r = exec(db_, "UPDATE url_ids SET merges = merges + 1"); !r) return r;
  ++generation_;
  return {};
}

}  // namespace storage
