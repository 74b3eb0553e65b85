#pragma once
// UrlKeys: which urls.id a URL has, looked up by the URL's hash (common::url_id).
//
// Since schema 4 a URL's id is its place in discovery order (1, 2, 3, ...), so urls, pages,
// frontier_by_url and link_edges_by_target, all keyed by a URL id, take a new URL's rows at
// their right edge. The one structure keyed by the hash is this lookup, and it is leveled
// like a small LSM tree (LevelDB's idea, inside SQLite) so that its cost per new URL does not
// grow with the set (docs/PERFORMANCE.md, (e)):
//   url_keys_new  the newest keys, in the order they came (seq, since schema 7): each commit
//                 appends its keys at the table's right edge, and lookups go to a copy in
//                 memory (KeyMap), loaded when a UrlKeys is created and kept current by its
//                 own adds and, at begin(), the rows other connections appended;
//   url_keys_mid  url_keys_new is moved here, in hash order, once it holds `merge_rows` keys;
//   url_keys      url_keys_mid is moved here once it holds `level_ratio` times as many keys
//                 as url_keys: one hash range per batch (a sweep), so that no single commit
//                 rewrites the big table.
// A hash is in exactly one level. All three are internal tables (README, "Database schema").
// Until schema 7 url_keys_new was keyed by the hash like the others: every commit inserted its
// keys all over a 5 MiB B-tree and wrote most of it to the WAL again (docs/PERFORMANCE.md, (e)).
// A lookup checks url_keys_new's copy in memory, then the two older levels only if a Bloom filter
// over them says the hash may be there: most new URLs cost no read of the big level. The filter is
// built from the tables when a UrlKeys is created and learns the keys each of its merges
// moves out of url_keys_new. Every merge also bumps url_ids.merges; a UrlKeys that finds it
// changed at begin() (another connection merged, or `--fresh` emptied the tables) reloads its
// counts and its filter from the tables; a merge of its own that is rolled back is undone by
// rollback(), which restores what begin() saved (the filter keeps the extra bits, and the copy
// of url_keys_new is read again from the table before its next use). The filter is
// sized for 4 times the keys it holds, at 10 bits per key, and rebuilt when they outgrow it,
// up to `filter_max_bytes`; past that it fills up and lets more lookups through, but its
// memory stays bounded.
//
// A database created before schema 4 keeps hash ids (urls.id = the hash): migration 3 -> 4
// copies its urls into url_keys as hash -> hash and records the scheme in url_ids, and new
// URLs get their hash as id too, so no existing row is rewritten.
//
// Not thread-safe. Every call but create() runs inside the caller's write transaction.

#include <cstdint>
#include <memory>

#include "common/result.h"
#include "storage/bloom_filter.h"
#include "storage/key_map.h"
#include "storage/sqlite_handles.h"

namespace storage {

struct UrlKeysOptions {
  std::int64_t merge_rows = 250'000;        // url_keys_new -> url_keys_mid at this many keys
  double level_ratio = 0.25;                // url_keys_mid -> url_keys at this fraction of url_keys
  std::size_t filter_max_bytes = 16 << 20;  // the Bloom filter's bound
};

// The urls.id of the URL with this hash, for a reader on its own connection: looked up in the
// url_keys levels, or the hash itself in a database from before schema 4 (its ids are hashes).
// 0 if a schema 4 database does not know the URL.
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
  // After a batch's adds, inside its transaction: moves keys down the levels when due.
  [[nodiscard]] common::Result<void> maintain();
  // After the caller rolled back the transaction begin() started: forgets what this
  // UrlKeys counted and planned in it. (Its filter keeps any bits it gained: extra bits
  // cost a probe, never a key.)
  void rollback();

  struct Counts {
    std::int64_t new_level = 0, mid_level = 0, big_level = 0;
  };
  Counts counts() const { return counts_; }
  bool sweeping() const { return sweeping_; }
  std::size_t filter_bytes() const { return filter_.byte_count(); }
  std::size_t newest_bytes() const { return newest_.byte_count(); }

 private:
  UrlKeys(sqlite3* db, UrlKeysOptions options) : db_(db), options_(options) {}
  common::Result<std::int64_t> find_in(sqlite3_stmt* level, std::int64_t hash);
  common::Result<void> move_range(std::int64_t lo, std::int64_t hi);
  // url_ids: sets hash_ids_ and returns the merge count.
  common::Result<std::int64_t> read_generation();
  // Counts, sweep and filter from the tables as they are.
  common::Result<void> reload();
  // Sizes a filter for the keys of url_keys_mid and url_keys, loads them, and only then
  // replaces the old one.
  common::Result<void> rebuild_filter();
  // Reads into newest_ the url_keys_new rows after newest_seq_ (all of them after a clear).
  common::Result<void> load_newest();
  // Reads url_keys_new again if a rollback left newest_ stale.
  common::Result<void> refresh_newest();
  // Adds the hashes `sql` selects to `filter`.
  common::Result<void> load_filter(BloomFilter& filter, const char* sql);
  bool filter_may_contain(std::int64_t hash) const;

  sqlite3* db_;
  UrlKeysOptions options_;
  bool hash_ids_ = false;  // a database created before schema 4
  std::int64_t last_id_ = 0;
  std::int64_t generation_ = 0;  // url_ids.merges as of this UrlKeys' last look
  struct Saved {                 // as begin() found them, for rollback()
    Counts counts;
    std::int64_t generation = 0;
    bool sweeping = false;
    std::int64_t sweep_next = 0;
    double sweep_budget = 0;
  } saved_;
  Counts counts_;
  std::int64_t added_since_maintain_ = 0;
  bool sweeping_ = false;
  std::int64_t sweep_next_ = 0;        // the next hash range of a sweep starts here
  double sweep_budget_ = 0;            // new keys over which the current sweep is spread
  BloomFilter filter_;                 // empty while nothing is merged
  std::uint64_t filter_capacity_ = 0;  // keys it is sized for; past it, rebuilt larger
  KeyMap newest_;                      // url_keys_new's rows, hash -> id
  std::int64_t newest_seq_ = 0;        // the highest url_keys_new.seq newest_ holds
  bool newest_stale_ = false;          // a rollback may have changed url_keys_new under it
  SqliteStmt load_new_, find_mid_, find_big_, insert_new_, insert_mid_;
};

}  // namespace storage
