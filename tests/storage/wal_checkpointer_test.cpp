#include "storage/wal_checkpointer.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "storage/sqlite_handles.h"
#include "storage_test_support.h"

namespace {

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

}  // namespace

TEST_CASE("wal checkpointer: checkpoints off the committing thread and bounds the WAL",
          "[storage][wal_checkpointer]") {
  storage_test::TempDir dir;
  const std::string path = dir.file("c.db");
  auto writer = open_writer(path);
  constexpr int kPages = 32;  // checkpoint past 32 frames (128 KiB)
  int next_id = 1;
  {
    auto checkpointer = storage::WalCheckpointer::create(writer.get(), kPages);
    REQUIRE(checkpointer.has_value());
    std::uintmax_t max_wal = 0;
    for (int round = 0; round < 50; ++round) {
      commit_rows(writer.get(), 10, next_id);
      max_wal = std::max(max_wal, size_of(path + "-wal"));
    }
    const auto stats = (*checkpointer)->stats();
    CHECK(stats.background > 0);  // the thread did checkpoints
    // Without checkpoints the WAL would hold every frame of the 500 commits (4 MB of rows and
    // more). With them it restarts: about 4 x the threshold, more while a commit finds the
    // thread checkpointing (the next commit tries again), never near the whole.
    CHECK(max_wal < std::uintmax_t{2} << 20);
    INFO("background " << stats.background << ", inline " << stats.inline_ << ", max WAL "
                       << max_wal);
    // Every row is there, for a reader on yet another connection.
    auto reader = storage::open_db(path, storage::OpenMode::ReadOnly);
    REQUIRE(reader.has_value());
    auto count = storage::query_int(reader->get(), "SELECT count(*) FROM t");
    REQUIRE(count.has_value());
    CHECK(*count == next_id - 1);
  }
  // After the checkpointer is gone the writer commits on, with SQLite's auto-checkpoint.
  commit_rows(writer.get(), 5, next_id);
  writer.reset();
  auto check = storage::open_db(path, storage::OpenMode::ReadOnly);
  REQUIRE(check.has_value());
  auto count = storage::query_int(check->get(), "SELECT count(*) FROM t");
  REQUIRE(count.has_value());
  CHECK(*count == next_id - 1);
}

TEST_CASE("wal checkpointer: no connection, no file or no threshold is an error",
          "[storage][wal_checkpointer]") {
  storage_test::TempDir dir;
  auto writer = open_writer(dir.file("c.db"));
  CHECK_FALSE(storage::WalCheckpointer::create(nullptr, 10).has_value());
  CHECK_FALSE(storage::WalCheckpointer::create(writer.get(), 0).has_value());
  auto memory = storage::open_db(":memory:", storage::OpenMode::ReadWriteCreate);
  REQUIRE(memory.has_value());
  CHECK_FALSE(storage::WalCheckpointer::create(memory->get(), 10).has_value());  // no file
}
