#include "storage/wal_checkpointer.h"

#include <utility>

namespace storage {

common::Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::create(sqlite3* writer,
                                                                         int pages) {
  const char* path = writer != nullptr ? sqlite3_db_filename(writer, "main") : nullptr;
  if (path == nullptr || *path == '\0' || pages < 1) {
    return common::make_error(common::ErrorCode::BadInput,
                              "wal checkpointer: needs a database file and a page count");
  }
  auto own = open_db(path, OpenMode::ReadWrite);
  if (!own) return common::error_of(own);
  // The checkpoint's fsyncs are what synchronous = NORMAL asks of a WAL database.
  if (auto r = exec(own->get(), "PRAGMA synchronous = NORMAL"); !r) return common::error_of(r);
  std::unique_ptr<WalCheckpointer> self(new WalCheckpointer(writer, std::move(*own), pages));
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Replaces our hook (sqlite3_wal_autocheckpoint installs SQLite's own).
  sqlite3_wal_autocheckpoint(writer_, pages_);
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

int WalCheckpointer::on_commit(void* self_ptr, sqlite3* db, const char* schema, int wal_pages) {
  auto* self = static_cast<WalCheckpointer*>(self_ptr);
  if (wal_pages >= 4 * self->pages_) {
    // The thread has not caught up (or the writer never gave the log a chance to restart):
    // copy the rest here, as auto-checkpoint would. SQLITE_BUSY (the thread is checkpointing
    // right now) is fine: the next commit tries again.
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::lock_guard<std::mutex> lock(self->mutex_);
    ++self->stats_.inline_;
  } else if (wal_pages >= self->pages_) {
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->requested_ = true;
    }
    self->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    // A checkpoint error is not the crawl's: the next one retries, and the committing thread
    // takes over past 4 x pages_.
    (void)sqlite3_wal_checkpoint_v2(own_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
    lock.lock();
    ++stats_.background;
  }
}

}  // namespace storage
