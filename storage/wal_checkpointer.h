#pragma once
// WalCheckpointer: copies the write-ahead log back into the database on a thread and a
// connection of its own, so that a commit does not pay for it. With SQLite's auto-checkpoint
// the commit that crossed the threshold ran the whole checkpoint (copy every frame, two
// fsyncs) before returning: about a tenth of the parser's writer thread on the scale scenario
// (docs/PERFORMANCE.md, (e)).
//
// It replaces auto-checkpoint on the writing connection with a WAL hook: past `pages` frames
// a commit wakes the thread, which runs a PASSIVE checkpoint beside the writer's next commits.
//
// SQLite's WAL-reset race. SQLite before 3.51.3 (Debian 12 has 3.40.1) can lose committed
// pages if a checkpoint *starts* while another connection's transaction resets the WAL
// (sqlite.org/wal.html#walresetbug). A transaction resets the WAL when it begins with every
// frame already copied, i.e. only the first write transaction to begin after a *complete*
// checkpoint. The writing connection is used by one thread, so its transactions run one after
// the other, and this class never lets a checkpoint start while such a reset may be running:
//   - the writer's own connection never checkpoints (no auto-checkpoint, nothing inline);
//   - after a checkpoint that copied every frame, the next one starts only once two commits
//     have been seen since it returned (the commit in progress when it returned, which began
//     before it completed and so did not reset, and the next, which may have reset and has
//     finished), or while the writer is parked in the hook (below), between transactions;
//   - an incomplete checkpoint leaves frames uncopied, so no transaction can reset before
//     the next checkpoint, which may start at once.
// Bound: the WAL restarts only when a transaction begins after a complete checkpoint, which a
// busy writer seldom allows while the thread copies. So a commit that leaves 4 x `pages`
// frames parks the writer in the hook until a checkpoint started after that commit has
// finished: with no commit beside it, that checkpoint copies everything (unless a reader's
// snapshot holds frames back, as with auto-checkpoint), and the next transaction restarts
// the WAL.
//
// Only the writing connection may write to the database while a WalCheckpointer is attached
// (the crawl's rule: the parser is the only writer). Destroy it before closing the writing
// connection: the destructor stops the thread and gives that connection back SQLite's
// auto-checkpoint at the same threshold.

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "storage/sqlite_handles.h"

namespace storage {

class WalCheckpointer {
 public:
  // `writer` must be a WAL-mode connection to a database file.
  [[nodiscard]] static common::Result<std::unique_ptr<WalCheckpointer>> create(sqlite3* writer,
                                                                               int pages);
  ~WalCheckpointer();  // lets a running checkpoint finish, then stops the thread
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // What the thread did so far (for tests and tuning).
  struct Stats {
    std::int64_t checkpoints = 0;  // run by the thread
    std::int64_t complete = 0;     // of them, those that copied every frame
    std::int64_t frames = 0;       // copied, summed over the checkpoints
    std::int64_t errors = 0;       // checkpoints that returned an error (retried later)
    std::int64_t parks = 0;        // commits that waited for a checkpoint (4 x pages)
  };
  Stats stats() const;

 private:
  WalCheckpointer(sqlite3* writer, SqliteDb own, int pages)
      : writer_(writer), own_(std::move(own)), pages_(pages) {}
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) noexcept;
  static void on_rollback(void* self) noexcept;
  void commit_hook(int wal_pages);
  bool may_start() const;  // under mutex_
  void run();

  sqlite3* writer_;
  SqliteDb own_;  // used by the thread only
  const int pages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, finished_;
  bool requested_ = false;
  bool stopping_ = false;
  bool parked_ = false;                  // the writer waits in its hook, between transactions
  int commits_since_complete_ = 2;       // transactions ended since a complete checkpoint returned
  std::int64_t started_ = 0, done_ = 0;  // checkpoints started / finished, numbered
  Stats stats_;
  std::thread thread_;  // last: it uses everything above
};

}  // namespace storage
