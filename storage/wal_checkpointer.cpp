#include "storage/wal_checkpointer.h"

#include <iostream>
#include <utility>

#include "common/thread_name.h"

namespace storage {

common::Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::create(
    sqlite3* writer, int pages, std::function<void()> heartbeat,
    std::chrono::milliseconds beat_every) {
  const char* path = writer != nullptr ? sqlite3_db_filename(writer, "main") : nullptr;
  if (path == nullptr || *path == '\0' || pages < 1) {
    return common::make_error(common::ErrorCode::BadInput,
                              "wal checkpointer: needs a database file and a page count");
  }
  auto own = open_db(path, OpenMode::ReadWrite);
  if (!own) return common::error_of(own);
  // The checkpoint's fsyncs are what synchronous = NORMAL asks of a WAL database. And a
  // connection that has not read the database yet has not opened its WAL either: its
  // checkpoints would do nothing (pnLog = -1). Read the schema, then make sure.
  if (auto r = exec(own->get(), "PRAGMA synchronous = NORMAL; SELECT count(*) FROM sqlite_schema");
      !r) {
    return common::error_of(r);
  }
  int log = -1;
  const int rc =
      sqlite3_wal_checkpoint_v2(own->get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, nullptr);
  if (rc != SQLITE_OK || log < 0) {
    return common::make_error(common::ErrorCode::Storage,
                              "wal checkpointer: the database is not in WAL mode");
  }
  std::unique_ptr<WalCheckpointer> self(
      new WalCheckpointer(writer, std::move(*own), pages, std::move(heartbeat), beat_every));
  try {
    self->thread_ = std::thread(&WalCheckpointer::run, self.get());
  } catch (const std::exception& e) {  // std::system_error: no thread
    return common::make_error(common::ErrorCode::Io, std::string("checkpoint thread: ") + e.what());
  }
  // Replaces auto-checkpoint (sqlite3_wal_autocheckpoint installs a hook of its own).
  sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, self.get());
  return self;
}

WalCheckpointer::~WalCheckpointer() {
  if (!thread_.joinable()) return;  // create() failed before the hook was installed
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // Replaces our hook (sqlite3_wal_autocheckpoint installs SQLite's own).
  sqlite3_wal_autocheckpoint(writer_, pages_);
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int wal_pages) noexcept {
  try {
    static_cast<WalCheckpointer*>(self)->commit_hook(wal_pages);
  } catch (...) {  // std::system_error from a mutex: skip this one, the next commit retries
  }
  return SQLITE_OK;
}

// Under mutex_: no transaction can be resetting the WAL now (see the header).
bool WalCheckpointer::may_start() const { return park_pending_ || commits_since_complete_ >= 2; }

void WalCheckpointer::commit_hook(int wal_pages) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (commits_since_complete_ < 2) ++commits_since_complete_;
  if (wal_pages >= 4 * pages_) {
    // Park between transactions until a checkpoint that starts now has finished. The
    // permission to start it at once is for that one checkpoint (the thread clears it).
    const std::int64_t target = started_ + 1;
    park_pending_ = true;
    requested_ = true;
    ++stats_.parks;
    wake_.notify_one();
    while (!finished_.wait_for(lock, beat_every_, [&] { return stopping_ || done_ >= target; })) {
      if (heartbeat_) heartbeat_();
    }
    park_pending_ = false;  // normally cleared already, by the thread
    return;
  }
  if (wal_pages >= pages_) requested_ = true;
  if (requested_ && may_start()) wake_.notify_one();  // else a later commit wakes it
}

void WalCheckpointer::run() {
  common::set_thread_name("checkpoint");
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || (requested_ && may_start()); });
    if (stopping_) break;
    requested_ = false;
    park_pending_ = false;
    const std::int64_t number = ++started_;
    lock.unlock();
    int log = -1, copied = -1;
    const int rc =
        sqlite3_wal_checkpoint_v2(own_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    lock.lock();
    done_ = number;
    ++stats_.checkpoints;
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && ++stats_.errors == 1) {
      // Once: the next commits retry, and past 4 x pages_ every commit waits for a retry.
      std::cerr << "crawler: WAL checkpoint failed: " << sqlite3_errstr(rc)
                << " (the WAL grows until one succeeds)\n";
    }
    // Every frame copied (or no WAL to speak of): the next transaction to begin may reset
    // the WAL, so the next checkpoint waits for two commits. An error counts as complete
    // too: that only delays the next one.
    if (rc != SQLITE_OK || log < 0 || copied >= log) {
      commits_since_complete_ = 0;
      if (rc == SQLITE_OK) ++stats_.complete;
    }
    finished_.notify_all();
  }
  finished_.notify_all();  // a parked writer stops waiting
}

}  // namespace storage
