#include "storage/wal_checkpointer.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "storage/sqlite_handles.h"
#include "storage_test_support.h"

namespace {

constexpr int kPageSize = 4096;

// A WAL database with one table, on a connection of its own (the "writer").
storage::SqliteDb open_writer(const std::string& path) {
  auto db = storage::open_db(path, storage::OpenMode::ReadWriteCreate);
  REQUIRE(db.has_value());
  REQUIRE(storage::exec(db->get(),
                        "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; "
                        "PRAGMA synchronous = NORMAL; "
                        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
              .has_value());
  return std::move(*db);
}

// Commits `n` transactions of 20 rows of 400 bytes each (a few pages per commit).
void commit_rows(sqlite3* db, int n, int& next_id) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(storage::exec(db, "BEGIN").has_value());
    for (int j = 0; j < 20; ++j) {
      REQUIRE(storage::exec(db, "INSERT INTO t VALUES (" + std::to_string(next_id++) +
                                    ", printf('%.400c', 'x'))")
                  .has_value());
    }
    REQUIRE(storage::exec(db, "COMMIT").has_value());
  }
}

std::uintmax_t size_of(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

std::int64_t query(sqlite3* db, const std::string& sql) {
  auto value = storage::query_int(db, sql);
  REQUIRE(value.has_value());
  return *value;
}

// Polls `done` every millisecond for up to `ms`.
template <typename F>
bool eventually(F done, int ms) {
  for (int i = 0; i < ms; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

}  // namespace

TEST_CASE("wal checkpointer: the thread copies the WAL, which stays bounded, losing nothing",
          "[storage][wal_checkpointer]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("c.db");
  auto writer = open_writer(path);
  constexpr int kPages = 32;  // checkpoint past 32 frames (128 KiB)
  int next_id = 1;
  std::atomic<bool> stop_reader{false};
  std::atomic<std::int64_t> reads{0}, went_back{0};
  {
    auto checkpointer = storage::WalCheckpointer::create(writer.get(), kPages);
    REQUIRE(checkpointer.has_value());
    CHECK(query(writer.get(), "PRAGMA wal_autocheckpoint") == 0);  // ours replaced SQLite's
    // First the writer alone: the WAL stays bounded.
    std::uintmax_t max_wal = 0;
    for (int round = 0; round < 50; ++round) {
      commit_rows(writer.get(), 10, next_id);
      max_wal = std::max(max_wal, size_of(path + "-wal"));
    }
    // Then with a reader beside it, as the coordinator is: it always sees a consistent table.
    // (A reader inside a read transaction holds the WAL back, with SQLite's own checkpoints
    // as well, so the bound is checked without it.)
    std::thread reader([&] {
      auto db = storage::open_db(path, storage::OpenMode::ReadOnly);
      if (!db) return;
      std::int64_t last = 0;
      while (!stop_reader) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        auto n = storage::query_int(db->get(), "SELECT max(id) FROM t");
        if (!n) continue;  // SQLITE_BUSY at a WAL restart: try again
        if (*n < last) ++went_back;
        last = *n;
        ++reads;
      }
    });
    commit_rows(writer.get(), 200, next_id);
    stop_reader = true;
    reader.join();
    const auto stats = (*checkpointer)->stats();
    INFO("checkpoints " << stats.checkpoints << ", complete " << stats.complete << ", parks "
                        << stats.parks << ", errors " << stats.errors << ", max WAL " << max_wal);
    CHECK(stats.complete > 0);  // the thread copied the WAL (create() checks it is real)
    CHECK(stats.errors == 0);
    // Without checkpoints the WAL would hold every frame of the 500 commits (4 MB of rows
    // and more). A commit that leaves 4 x 32 frames waits for a checkpoint, after which the
    // WAL restarts: at most 4 x 32 frames, one commit (< 32 frames here) and the header.
    CHECK(max_wal <= std::uintmax_t{4 * kPages + 32} * (kPageSize + 24) + 32);
    CHECK(reads > 0);
    CHECK(went_back == 0);
    CHECK(query(writer.get(), "SELECT count(*) FROM t") == next_id - 1);
  }
  // After the checkpointer is gone the writer commits on, with SQLite's auto-checkpoint.
  CHECK(query(writer.get(), "PRAGMA wal_autocheckpoint") == kPages);
  commit_rows(writer.get(), 5, next_id);
  writer.reset();  // the last connection: copies the WAL into the database and removes it
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  auto check = storage::open_db(path, storage::OpenMode::ReadOnly);
  REQUIRE(check.has_value());
  CHECK(query(check->get(), "SELECT count(*) FROM t") == next_id - 1);
  auto integrity = storage::prepare(check->get(), "PRAGMA integrity_check");
  REQUIRE(integrity.has_value());
  REQUIRE(sqlite3_step(integrity->get()) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(integrity->get(), 0))) ==
        "ok");
}

TEST_CASE("wal checkpointer: after a complete checkpoint the next waits for two transactions",
          "[storage][wal_checkpointer]") {
  // The guard against SQLite's WAL-reset race (see the header): the first transaction to
  // begin after a complete checkpoint may reset the WAL, so no checkpoint may start until it
  // has ended.
  storage_test::TempDir dir;
  auto writer = open_writer(dir.file("c.db"));
  // Every commit (about 5 frames) asks for a checkpoint; none reaches 4 x 3 frames, where the
  // writer would park and let one start at once.
  auto checkpointer = storage::WalCheckpointer::create(writer.get(), 3);
  REQUIRE(checkpointer.has_value());
  auto& c = **checkpointer;
  int next_id = 1;
  // Nothing has been checkpointed yet, but create() checked the WAL: the gate starts closed.
  commit_rows(writer.get(), 1, next_id);
  CHECK_FALSE(eventually([&] { return c.stats().checkpoints > 0; }, 100));
  // A second commit, nothing beside it: a complete checkpoint.
  commit_rows(writer.get(), 1, next_id);
  REQUIRE(eventually([&] { return c.stats().checkpoints == 1; }, 5000));
  CHECK(c.stats().complete == 1);
  for (int round = 0; round < 3; ++round) {
    const auto before = c.stats().checkpoints;
    commit_rows(writer.get(), 1, next_id);  // the transaction that may reset: wait for its end
    CHECK_FALSE(eventually([&] { return c.stats().checkpoints > before; }, 100));
    // Rolled-back transactions do not count: the WAL can still be reset after them.
    for (int i = 0; i < 2; ++i) {
      REQUIRE(storage::exec(writer.get(),
                            "BEGIN IMMEDIATE; INSERT INTO t VALUES (NULL, 'r'); "
                            "ROLLBACK")
                  .has_value());
    }
    CHECK_FALSE(eventually([&] { return c.stats().checkpoints > before; }, 100));
    commit_rows(writer.get(), 1, next_id);  // a second commit: go
    REQUIRE(eventually([&] { return c.stats().checkpoints == before + 1; }, 5000));
    CHECK(c.stats().complete == before + 1);
  }
}

TEST_CASE("wal checkpointer: a commit parked for a checkpoint beats its heartbeat meanwhile",
          "[storage][wal_checkpointer]") {
  // A park waits for a checkpoint to copy the WAL and sync the files: milliseconds here, long
  // on a slow disk. A heartbeat every millisecond shows it is called while the writer waits,
  // on the writer's thread, and only then (PageStoreOptions::heartbeat calls it otherwise).
  storage_test::TempDir dir;
  auto writer = open_writer(dir.file("c.db"));
  std::atomic<std::int64_t> beats{0}, beats_elsewhere{0};
  const auto writer_thread = std::this_thread::get_id();
  int next_id = 1;
  auto checkpointer = storage::WalCheckpointer::create(
      writer.get(), 256,  // a park copies 4 x 256 frames (4 MiB): long enough to beat
      [&] {
        ++beats;
        if (std::this_thread::get_id() != writer_thread) ++beats_elsewhere;
      },
      std::chrono::milliseconds(1));
  REQUIRE(checkpointer.has_value());
  commit_rows(writer.get(), 5, next_id);  // a few frames each: far from a park
  CHECK(beats == 0);
  for (int round = 0; round < 100 && beats == 0; ++round) commit_rows(writer.get(), 20, next_id);
  const auto stats = (*checkpointer)->stats();
  INFO("parks " << stats.parks << ", beats " << beats);
  CHECK(stats.parks > 0);
  CHECK(beats > 0);
  CHECK(beats_elsewhere == 0);
}

TEST_CASE("wal checkpointer: no connection, no file, no WAL or no threshold is an error",
          "[storage][wal_checkpointer]") {
  storage_test::TempDir dir;
  auto writer = open_writer(dir.file("c.db"));
  CHECK_FALSE(storage::WalCheckpointer::create(nullptr, 10).has_value());
  CHECK_FALSE(storage::WalCheckpointer::create(writer.get(), 0).has_value());
  auto memory = storage::open_db(":memory:", storage::OpenMode::ReadWriteCreate);
  REQUIRE(memory.has_value());
  CHECK_FALSE(storage::WalCheckpointer::create(memory->get(), 10).has_value());  // no file
  auto rollback = storage::open_db(dir.file("r.db"), storage::OpenMode::ReadWriteCreate);
  REQUIRE(rollback.has_value());
  REQUIRE(storage::exec(rollback->get(), "CREATE TABLE t (x)").has_value());
  CHECK_FALSE(storage::WalCheckpointer::create(rollback->get(), 10).has_value());  // no WAL
}
