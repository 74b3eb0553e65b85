#pragma once
// UrlKeys: which urls.id a URL has, looked up by the URL's hash (common::url_id).
//
// Since schema 4 a URL's id is its place in discovery order (1, 2, 3, ...), so urls, pages,
// frontier_by_url and link_edges_by_target, all keyed by a URL id, take a new URL's rows at
// their right edge. The one structure keyed by the hash is this lookup. Since schema 8 it is
// a set of sorted runs that are written once, at the right edge, and never rewritten in
// place (size-tiered, as in Cassandra and RocksDB's universal compaction), so that its cost
// per new URL grows only with the log of the set (docs/PERFORMANCE.md, (e)):
//   url_keys_new  the newest keys, in the order they came (seq): each commit appends its new
//                 URLs' keys, and lookups go to a copy in memory (KeyMap), loaded when a
//                 UrlKeys is created and kept current by its own adds and, at begin(), the
//                 rows other connections appended;
//   url_key_runs  keyed by (run, hash): once url_keys_new holds `merge_rows` keys they become
//                 the next run, appended in hash order. Once `fan_in` runs are of one size
//                 tier (tier t: from merge_rows * fan_in^t keys to fan_in times that), they
//                 are merged into a new run, one hash range per batch (a compaction), their
//                 rows deleted as they move: a compaction of S keys is spread over the next
//                 S / speed new keys, speed = 1.5 * the tier of the whole set (at least 1.5),
//                 so it keeps up as tiers are added.
// A hash is in exactly one run or in url_keys_new. Until schema 8 the runs were two B-trees
// keyed by the hash (url_keys_mid and url_keys): each merge into them rewrote every leaf
// they had, a cost per key that grew with the set (docs/PERFORMANCE.md, (e)).
// A lookup checks url_keys_new's copy in memory, then the runs only if a Bloom filter over
// them says the hash may be there: most new URLs cost no read. A hash the filter lets through
// is probed in each run, largest first (a run being compacted holds only the hashes its
// compaction has not reached yet, and the run it writes only those it has). The filter is built
// from the table when a UrlKeys is created and learns the keys each new run takes from
// url_keys_new; compactions move keys between runs, which it does not need to know. Every new
// run and every compaction step bumps url_ids.merges; a UrlKeys that finds it changed at
// begin() (another connection merged, or `--fresh` emptied the tables) reloads its runs and
// its filter from the table, and forgets the compaction it ran (the runs stay valid: a
// compaction cut short leaves two partly filled sets of runs, each key still in one of them);
// a change of its own that is rolled back is undone by rollback(), which restores what
// begin() saved (the filter keeps the extra bits, and the copy of url_keys_new is read again
// from the table before its next use). The filter is sized for 4 times the keys it holds, at
// 10 bits per key, and rebuilt when they outgrow it, up to `filter_max_bytes`; past that it
// fills up and lets more lookups through, but its memory stays bounded.
//
// A database created before schema 4 keeps hash ids (urls.id = the hash): migration 3 -> 4
// copies its urls into the lookup as hash -> hash and records the scheme in url_ids, and new
// URLs get their hash as id too, so no existing row is rewritten.
//
// Not thread-safe. Every call but create() runs inside the caller's write transaction.

#include <cstdint>
#include <memory>
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

// The urls.id of the URL with this hash, for a reader on its own connection: looked up in the
// url_keys_new and url_key_runs, or the hash itself in a database from before schema 4 (its ids are
// hashes). 0 if a schema 4 database does not know the URL.
[[nodiscard]] common::Result<std::int64_t> read_url_id(sqlite3* db, std::int64_t hash);

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
  // UrlKeys counted and planned in it. (Its filter keeps any bits it gained: extra bits
  // cost a probe, never a key.)
  void rollback();

  struct Counts {
    std::int64_t new_level = 0;  // keys in url_keys_new
    std::int64_t in_runs = 0;    // keys in url_key_runs
    std::int64_t runs = 0;       // runs holding at least one key
  };
  Counts counts() const;
  bool compacting() const { return compaction_.active; }
  std::size_t filter_bytes() const { return filter_.byte_count(); }
  std::size_t newest_bytes() const { return newest_.byte_count(); }

 private:
  struct Run {
    std::int64_t run = 0;
    std::int64_t keys = 0;
  };
  struct Compaction {
    bool active = false;
    std::vector<std::int64_t> sources;  // the runs being merged
    std::int64_t target = 0;            // the run they are merged into
    std::int64_t next_hash = 0;         // hashes below this have moved to the target
    double budget = 0;                  // new keys over which it is spread
  };

  UrlKeys(sqlite3* db, UrlKeysOptions options) : db_(db), options_(options) {}
  common::Result<std::int64_t> probe(std::int64_t run, std::int64_t hash);
  // url_ids: sets hash_ids_ and returns the merge count.
  common::Result<std::int64_t> read_generation();
  // Runs and filter from the table as it is, url_keys_new's copy, no compaction.
  common::Result<void> reload();
  // Counts the keys of each run and loads a filter sized for them, which replaces the old
  // one only once it is complete.
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
  void plan_compaction();
  // Moves the source runs' keys with hashes in [lo, hi] into the target run, in hash order.
  common::Result<void> compact_range(std::int64_t lo, std::int64_t hi);
  Run* run_named(std::int64_t run);
  void sort_runs();
  bool filter_may_contain(std::int64_t hash) const;

  sqlite3* db_;
  UrlKeysOptions options_;
  bool hash_ids_ = false;  // a database created before schema 4
  std::int64_t last_id_ = 0;
  std::int64_t generation_ = 0;  // url_ids.merges as of this UrlKeys' last look
  struct Saved {                 // as begin() found them, for rollback()
    std::int64_t new_level = 0;
    std::vector<Run> runs;
    std::int64_t next_run = 0;
    Compaction compaction;
    std::int64_t generation = 0;
  } saved_;
  std::int64_t new_level_ = 0;  // keys in url_keys_new
  std::vector<Run> runs_;       // url_key_runs' runs, largest first
  std::int64_t next_run_ = 1;   // the number the next run gets
  Compaction compaction_;
  std::int64_t added_since_maintain_ = 0;
  BloomFilter filter_;                 // empty while no key is in a run
  std::uint64_t filter_capacity_ = 0;  // keys it is sized for; past it, rebuilt larger
  KeyMap newest_;                      // url_keys_new's rows, hash -> id
  std::int64_t newest_seq_ = 0;        // the highest url_keys_new.seq newest_ holds
  bool newest_stale_ = false;          // a rollback may have changed url_keys_new under it
  SqliteStmt load_new_, probe_, insert_new_, insert_run_;
};

}  // namespace storage
