#pragma once
// UrlKeys: which urls.id a URL has, looked up by the URL's hash (common::url_id).
//
// Since schema 4 a URL's id is its place in discovery order (1, 2, 3, ...), so urls, pages,
// frontier_by_url and link_edges_by_target, all keyed by a URL id, take a new URL's rows at
// their right edge. The one structure keyed by the hash is this lookup. Since schema 8 it is
// a set of sorted runs, each a table of its own, written once and never rewritten in place
// (size-tiered, as in Cassandra and RocksDB's universal compaction), so that its cost per new
// URL grows only with the log of the set (docs/PERFORMANCE.md, (e)):
//   url_keys_new     the newest keys, in the order they came (seq): each commit appends its
//                    new URLs' keys, and lookups go to a copy in memory (KeyMap), loaded when
//                    a UrlKeys is created and kept current by its own adds and, at begin(),
//                    the rows other connections appended;
//   url_keys_run_N   (hash INTEGER PRIMARY KEY, id): once url_keys_new holds `merge_rows`
//                    keys it becomes the next run N, written in hash order, so at the right
//                    edge. Once `fan_in` runs are of one size tier (tier t: from merge_rows *
//                    fan_in^t keys to fan_in times that), a compaction merges them into
//                    url_keys_part_M, one hash range per batch, spread over the next S / speed
//                    new keys (S = the keys it merges, speed = 1.5 * the tier of the whole
//                    set, at least 1.5, so that it keeps up as tiers are added). When it
//                    reaches the end of the hash space, in one transaction, its sources are
//                    dropped (SQLite frees their pages; no row is deleted one by one) and the
//                    part table is renamed url_keys_run_M.
// A hash is in url_keys_new or in one run; while a compaction runs, the hashes it has moved
// are also in its part table, which nothing but its UrlKeys reads. A part table left by a
// compaction cut short (the parser restarted) is dropped at the next maintain(): its keys are
// still in its sources. Until schema 8 the runs were two B-trees keyed by the hash
// (url_keys_mid, url_keys): each merge into them rewrote every leaf they had, a cost per key
// that grew with the set (docs/PERFORMANCE.md, (e)); migration 7 -> 8 renames them to the
// first two runs.
// A lookup checks url_keys_new's copy in memory, then the runs only if a Bloom filter over
// them says the hash may be there: most new URLs cost no read. A hash the filter lets through
// is probed in each run, largest first (the part table only for the hashes its compaction
// has moved, and its sources only for the others). The filter is built from the runs when a
// UrlKeys is created and learns the keys each new run takes from url_keys_new; compactions
// move keys between runs, which it does not need to know. Every new run and every compaction
// step (and every table a maintain() creates or drops) bumps url_ids.merges; a UrlKeys
// that finds it changed at begin() (another connection
// merged, or `--fresh` emptied the tables) reloads its runs and its filter, and forgets the
// compaction it ran; a change of its own that is rolled back is undone by rollback(), which
// restores what begin() saved (the filter keeps the extra bits, and the copy of url_keys_new
// is read again from the table before its next use). The filter is sized for 4 times the keys
// it holds, at 10 bits per key, and rebuilt when they outgrow it, up to `filter_max_bytes`;
// past that it fills up and lets more lookups through, but its memory stays bounded.
//
// A database created before schema 4 keeps hash ids (urls.id = the hash): migration 3 -> 4
// copies its urls into the lookup as hash -> hash and records the scheme in url_ids, and new
// URLs get their hash as id too, so no existing row is rewritten.
//
// Not thread-safe. Every call but create() runs inside the caller's write transaction.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/bloom_filter.h"
#include "storage/key_map.h"
#include "storage/sqlite_handles.h"

namespace storage {

struct UrlKeysOptions {
  std::int64_t merge_rows = 250'000;        // url_keys_new becomes a run at this many keys
  int fan_in = 8;                           // this many runs of one size tier are merged
  std::size_t filter_max_bytes = 16 << 20;  // the Bloom filter's bound
};

// The urls.id of the URL with this hash, for a reader on its own connection: looked up in
// url_keys_new and the runs (or, in a database of schema 4 to 7 that was not migrated,
// url_keys_mid and url_keys), or the hash itself in a database from before schema 4 (its ids
// are hashes). 0 if a schema 4 database does not know the URL.
[[nodiscard]] common::Result<std::int64_t> read_url_id(sqlite3* db, std::int64_t hash);

// Inside the caller's write transaction: empties url_keys_new and drops every run and part
// table (`crawler crawl --fresh`).
[[nodiscard]] common::Result<void> clear_url_keys(sqlite3* db);

class UrlKeys {
 public:
  // `db` must have schema 4 or later and outlive the UrlKeys.
  [[nodiscard]] static common::Result<std::unique_ptr<UrlKeys>> create(sqlite3* db,
                                                                       UrlKeysOptions options = {});

  // Call at the start of each write transaction, before anything else: reads the highest id
  // (the coordinator adds seeds through its own UrlKeys) and reloads if keys moved meanwhile.
  [[nodiscard]] common::Result<void> begin();
  // The id stored for `hash`, or 0 if the URL is new.
  [[nodiscard]] common::Result<std::int64_t> find(std::int64_t hash);
  // The id for a new URL with this hash: the next in discovery order, or the hash itself in a
  // database with hash ids. Call add() with it once the URL's urls row is written.
  std::int64_t new_id(std::int64_t hash);
  // Records hash -> id in url_keys_new (and its copy in memory). The hash must not be stored
  // yet (find() said 0).
  [[nodiscard]] common::Result<void> add(std::int64_t hash, std::int64_t id);
  // After a batch's adds, inside its transaction: makes url_keys_new a run when it is full,
  // and starts or advances a compaction.
  [[nodiscard]] common::Result<void> maintain();
  // After the caller rolled back the transaction begin() started: forgets what this
  // UrlKeys counted and planned in it; if begin() itself failed, reads everything again from
  // the tables at the next begin(). (Its filter keeps any bits it gained: extra bits cost a
  // probe, never a key.)
  void rollback();

  struct Counts {
    std::int64_t new_level = 0;  // keys in url_keys_new
    std::int64_t in_runs = 0;    // keys in the runs (a compaction's copies not counted twice)
    std::int64_t runs = 0;       // run tables (not a compaction's part table)
  };
  Counts counts() const;
  bool compacting() const { return compaction_.active; }
  std::size_t filter_bytes() const { return filter_.byte_count(); }
  std::size_t newest_bytes() const { return newest_.byte_count(); }

 private:
  struct Run {
    std::int64_t run = 0;  // N of url_keys_run_N (or url_keys_part_N, a compaction's target)
    std::int64_t keys = 0;
  };
  struct Compaction {
    bool active = false;
    std::vector<std::int64_t> sources;  // the runs being merged
    std::int64_t target = 0;            // the part table they are merged into
    std::int64_t next_hash = 0;         // hashes below this are in the target too
    double budget = 0;                  // new keys over which it is spread
  };

  UrlKeys(sqlite3* db, UrlKeysOptions options) : db_(db), options_(options) {}
  std::string table_of(std::int64_t run) const;
  common::Result<std::int64_t> probe(std::int64_t run, std::int64_t hash);
  // url_ids: sets hash_ids_ and returns the merge count.
  common::Result<std::int64_t> read_generation();
  // Runs and filter from the tables as they are, url_keys_new's copy, no compaction.
  common::Result<void> reload();
  // Lists and counts the runs, notes part tables and empty runs to drop, and loads a filter
  // sized for the runs' keys, which replaces the old one only once it is complete.
  common::Result<void> load_runs_and_filter();
  // Reads into newest_ the url_keys_new rows after newest_seq_ (all of them after a clear).
  common::Result<void> load_newest();
  // Reads url_keys_new again if a rollback left newest_ stale.
  common::Result<void> refresh_newest();
  // url_keys_new becomes the next run.
  common::Result<void> flush_newest();
  // The size tier of `keys` keys: 0 below merge_rows * fan_in, 1 below fan_in times that, ...
  int tier_of(std::int64_t keys) const;
  // Starts a compaction if fan_in runs are of one tier (the lowest such tier).
  common::Result<void> plan_compaction();
  // Copies the source runs' keys with hashes in [lo, hi] into the target, in hash order.
  common::Result<void> compact_range(std::int64_t lo, std::int64_t hi);
  // Drops the sources, and the target becomes a run.
  common::Result<void> finish_compaction();
  // Whether `run` is one of the active compaction's sources.
  bool is_source(std::int64_t run) const;
  void sort_runs();
  bool filter_may_contain(std::int64_t hash) const;

  sqlite3* db_;
  UrlKeysOptions options_;
  bool hash_ids_ = false;  // a database created before schema 4
  std::int64_t last_id_ = 0;
  std::int64_t generation_ = 0;  // url_ids.merges as of this UrlKeys' last look (-1: reload)
  bool begun_ = false;           // the last begin() returned success
  struct Saved {                 // as begin() found them, for rollback()
    std::int64_t new_level = 0;
    std::vector<Run> runs;
    std::int64_t next_run = 0;
    Compaction compaction;
    std::int64_t generation = 0;
    std::vector<std::string> to_drop;
  } saved_;
  std::int64_t new_level_ = 0;  // keys in url_keys_new
  std::vector<Run> runs_;       // the runs, largest first (with a compaction's target)
  std::int64_t next_run_ = 1;   // the number the next run or part table gets
  Compaction compaction_;
  std::vector<std::string> to_drop_;  // part tables a compaction cut short left, empty runs
  std::map<std::int64_t, SqliteStmt> probes_;  // by run, prepared at its first probe
  std::int64_t added_since_maintain_ = 0;
  BloomFilter filter_;                 // empty while no key is in a run
  std::uint64_t filter_capacity_ = 0;  // keys it is sized for; past it, rebuilt larger
  KeyMap newest_;                      // url_keys_new's rows, hash -> id
  std::int64_t newest_seq_ = 0;        // the highest url_keys_new.seq newest_ holds
  bool newest_stale_ = false;          // a rollback may have changed url_keys_new under it
  SqliteStmt load_new_, insert_new_;
};

}  // namespace storage
