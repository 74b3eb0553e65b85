#pragma once
// WalCheckpointer: copies the write-ahead log into the database on a thread and a connection
// of its own, so that a commit does not pay for it. With SQLite's auto-checkpoint the commit
// that crossed the threshold ran the whole checkpoint (copy every frame, two fsyncs) before
// returning: about a tenth of the parser's writer thread on the scale scenario
// (docs/PERFORMANCE.md, (e)).
//
// It installs a WAL hook on the writing connection (replacing auto-checkpoint): past
// `pages` frames in the WAL a commit wakes the thread, which runs a PASSIVE checkpoint
// (SQLite lets that run beside a writer). The WAL restarts from its beginning only when a
// transaction begins with every frame copied, which a busy writer rarely lets happen while
// the thread copies; so past 4 x `pages` frames the committing thread runs the checkpoint
// itself, copying what is left (little, by then). That bounds the WAL as auto-checkpoint did.
//
// Destroy it before closing the writing connection: the destructor stops the thread and gives
// that connection back SQLite's auto-checkpoint at the same threshold. The connection of its
// own is opened on the writer's database file (sqlite3_db_filename).

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
  [[nodiscard]] static common::Result<std::unique_ptr<WalCheckpointer>> create(sqlite3* writer,
                                                                               int pages);
  ~WalCheckpointer();  // lets a running checkpoint finish, then stops the thread
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run on the thread and on the committing thread so far (for tests and tuning).
  struct Stats {
    std::int64_t background = 0, inline_ = 0;
  };
  Stats stats() const;

 private:
  WalCheckpointer(sqlite3* writer, SqliteDb own, int pages)
      : writer_(writer), own_(std::move(own)), pages_(pages) {}
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  sqlite3* writer_;
  SqliteDb own_;  // used by the thread only
  const int pages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;  // last: it uses everything above
};

}  // namespace storage
