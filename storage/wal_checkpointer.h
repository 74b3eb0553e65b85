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
// (sqlite.org/wal.html#walresetbug; SQLite's test/walrestart.test). A transaction resets the
// WAL when it writes its first frames having begun with every frame copied (read-lock 0):
// after a complete checkpoint, only the first transaction that commits frames can, and once
// it has, no other can until the next complete checkpoint. The writing connection is used
// by one thread, so its transactions run one after the other, and this class never lets a
// checkpoint start while such a reset may be running:
//   - the writer's own connection never checkpoints (no auto-checkpoint, nothing inline);
//   - after a complete checkpoint (or one that failed), the next starts only once the WAL
//     hook has reported two commits since it returned: the second comes from a transaction
//     that began after the first had committed frames, so the transaction that could reset
//     has ended. Only commits count: a rollback (no hook) leaves the WAL resettable;
//   - or once, at once, while the writer is parked in its hook between transactions (below).
// An incomplete checkpoint leaves frames uncopied, so no transaction can reset until a later
// complete one; the count is not reset then.
// Bound: the WAL restarts only when a transaction begins after a complete checkpoint, which a
// busy writer seldom allows while the thread copies. So a commit that leaves 4 x `pages`
// frames parks the writer in the hook until a checkpoint started after that commit has
// finished: with no commit beside it, that checkpoint copies everything, and the next
// transaction restarts the WAL. A reader holding an older snapshot, or a read slot when the
// restart is tried, holds it back, as it does with auto-checkpoint; then the WAL grows by a
// commit each time, and each such commit waits for a checkpoint. The WAL file is not
// truncated when it restarts: on disk it stays at its largest size.
//
// A parked commit is the one place the writer waits on another thread for long (a checkpoint
// of 4 x `pages` frames on a slow disk): it calls `heartbeat`, if given, every `beat_every`
// while it waits, so a watchdog can tell the wait from a hang (PageStoreOptions::heartbeat).
//
// While a WalCheckpointer is attached, no other connection may write to the database or
// checkpoint it (the crawl's rule: the parser is the only writer; `crawler query` and the
// coordinator read only; a `PRAGMA wal_checkpoint` from elsewhere would reopen the race).
// Destroy it while the writing connection is idle, before closing it: the destructor stops the
// thread and gives that connection back SQLite's auto-checkpoint at the same threshold.

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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
  [[nodiscard]] static common::Result<std::unique_ptr<WalCheckpointer>> create(
      sqlite3* writer, int pages, std::function<void()> heartbeat = {},
      std::chrono::milliseconds beat_every = std::chrono::milliseconds(250));
  ~WalCheckpointer();  // lets a running checkpoint finish, then stops the thread
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // What the thread did so far (for tests and tuning).
  struct Stats {
    std::int64_t checkpoints = 0;  // run by the thread
    std::int64_t complete = 0;     // of them, those that copied every frame
    std::int64_t errors = 0;       // checkpoints that returned an error (retried later)
    std::int64_t parks = 0;        // commits that waited for a checkpoint (4 x pages)
  };
  Stats stats() const;

 private:
  WalCheckpointer(sqlite3* writer, SqliteDb own, int pages, std::function<void()> heartbeat,
                  std::chrono::milliseconds beat_every)
      : writer_(writer),
        own_(std::move(own)),
        pages_(pages),
        heartbeat_(std::move(heartbeat)),
        beat_every_(beat_every) {}
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) noexcept;
  void commit_hook(int wal_pages);
  bool may_start() const;  // under mutex_
  void run();

  sqlite3* writer_;
  SqliteDb own_;  // used by the thread only
  const int pages_;
  const std::function<void()> heartbeat_;  // called by a parked writer; may be empty
  const std::chrono::milliseconds beat_every_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, finished_;
  bool requested_ = false;
  bool stopping_ = false;
  bool park_pending_ = false;  // the writer waits in its hook: one checkpoint may start now
  // Commits (WAL hook calls) since a complete checkpoint returned. 0 at first: the check in
  // create() may have completed the WAL.
  int commits_since_complete_ = 0;
  std::int64_t started_ = 0, done_ = 0;  // checkpoints started / finished, numbered
  Stats stats_;
  std::thread thread_;  // last: it uses everything above
};

}  // namespace storage
